// The one Catch2 main, compiled once (an OBJECT library shared by every test TU).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
