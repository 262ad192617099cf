// tests/real_mnist.hpp - the real MNIST for the tests that need it, loaded (and its checksums
// verified) once per test process. A missing MNIST fails the test with the command to run: the
// test command fetches it first, so a skip would only hide a broken set-up.
#pragma once

#include <catch2/catch.hpp>

#include <xkeras/xkeras.hpp>

namespace testing {

inline const xkeras::datasets::dataset& real_mnist() {
    if (!xkeras::datasets::mnist::available())
        FAIL("MNIST is not in " << xkeras::datasets::mnist::default_dir()
                                << "; run scripts/fetch_mnist.sh (the test command does)");
    static const xkeras::datasets::dataset data = xkeras::datasets::mnist::load_data();
    return data;
}

}  // namespace testing
