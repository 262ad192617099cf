// xkeras/plot.hpp - the optional plotting headers in one include: training curves, digit grids
// and confusion matrices as PNG or SVG. They need cairo (Debian: libcairo2-dev); link the CMake
// target xkeras::plot. The core library (xkeras/xkeras.hpp) does not include them.
#pragma once

#include "plot/confusion_matrix.hpp"
#include "plot/digit_grid.hpp"
#include "plot/training_curves.hpp"
