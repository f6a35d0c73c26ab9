// The one Catch2 main shared by every unit test executable (Catch2 v2; the
// packaged Catch2WithMain is amd64-only object code).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
