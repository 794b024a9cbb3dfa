// Compatibility shim: the value checks moved to gamesolve/check.hpp (remove once no file includes this).
#pragma once
#include "gamesolve/check.hpp"
