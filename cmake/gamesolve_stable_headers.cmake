# gamesolve_stable_headers(<name> <version> <target>...)
#
# Point the imported <target>s' include directories at a copy of their headers inside
# the build tree, ${CMAKE_BINARY_DIR}/_deps_headers/<name>-<version>/<n>.
#
# Why: pip builds every `pip install .` in a fresh isolated environment
# (/tmp/pip-build-env-XXXX), so Eigen's and pybind11's headers lie in a different
# directory each time. With the persistent build directory of pyproject.toml the
# objects of the previous install are there, but the changed -isystem paths make
# every compile command differ and ninja recompiles everything. Compiling against a
# copy under a fixed path keeps the commands identical across pip runs.
#
# The copy is made file by file only where the contents differ (COPY_FILE
# ONLY_IF_DIFFERENT): an unchanged header keeps the modification time of the first
# copy (pip does not preserve the wheel's timestamps, so a timestamp-based copy would
# touch every header), a changed one is rewritten and so recompiles what includes it.
# The directory is keyed by the dependency's version, so another version never
# shares objects with this one; another Python gives another wheel tag, hence another
# build directory (build-dir = "build/{wheel_tag}").
#
# Only in scikit-build-core builds (SKBUILD) and with CMake >= 3.21; otherwise a no-op.
function(gamesolve_stable_headers name version)
  if(NOT SKBUILD OR CMAKE_VERSION VERSION_LESS 3.21)
    return()
  endif()
  set(_root "${CMAKE_BINARY_DIR}/_deps_headers/${name}-${version}")
  set(_n 0)
  foreach(_target IN LISTS ARGN)
    if(NOT TARGET ${_target})
      continue()
    endif()
    get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT _dirs)
      continue()
    endif()
    set(_new "")
    foreach(_dir IN LISTS _dirs)
      if(_dir MATCHES "\\$<" OR NOT IS_DIRECTORY "${_dir}")
        list(APPEND _new "${_dir}")  # generator expression or missing: left as is
        continue()
      endif()
      set(_dst "${_root}/${_n}")
      math(EXPR _n "${_n} + 1")
      _gamesolve_sync_tree("${_dir}" "${_dst}")
      list(APPEND _new "${_dst}")
    endforeach()
    set_property(TARGET ${_target} PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${_new}")
  endforeach()
  message(STATUS "gamesolve: ${name} headers compiled from ${_root}")
endfunction()

# Copy every file under <src> to the same relative path under <dst>, writing only the
# files whose contents differ.
function(_gamesolve_sync_tree src dst)
  file(GLOB_RECURSE _files RELATIVE "${src}" "${src}/*")
  foreach(_f IN LISTS _files)
    get_filename_component(_sub "${dst}/${_f}" DIRECTORY)
    file(MAKE_DIRECTORY "${_sub}")
    file(COPY_FILE "${src}/${_f}" "${dst}/${_f}" ONLY_IF_DIFFERENT)
  endforeach()
endfunction()
