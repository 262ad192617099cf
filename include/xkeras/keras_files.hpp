// xkeras/keras_files.hpp - Keras's own model files, read and written: `.keras` and
// `.weights.h5` (Keras 3), and the legacy HDF5 `.h5` files of Keras 2 and tf.keras.
//
// Optional: these headers need HDF5 and libzip (Debian: libhdf5-dev, libzip-dev); link the
// CMake target xkeras::keras_files. Including this header in a program makes the core's
// functions handle Keras files as well as xkeras's own:
//   xkeras::load_model("m.keras")       architecture, compile config, weights, optimizer state
//   xkeras::load_model("m.h5")          the same from a legacy full-model file
//   model.load_weights("m.weights.h5")  weights (also out of a .keras, or a legacy .h5)
//   model.save("m.keras")               what Keras 3's model.save writes
//   model.save("m.h5")                  what Keras 3's model.save writes for .h5 (legacy)
//   model.save_weights("m.weights.h5")  what Keras 3's model.save_weights writes
//   model.save_weights("m.h5")          what Keras 2's save_weights writes for .h5 (legacy)
// Loading tells a Keras file by its first bytes and, for HDF5, by its groups; saving by the
// name (`.keras`; `.weights.h5`; other `.h5` and `.hdf5`). xkeras's own `.xk` format still keeps
// what Keras files cannot (the shuffling and Dropout streams of an exact resume).
#pragma once

#include "keras_files/entry_points.hpp"

namespace xkeras::keras_files::detail {

/// Fills the core's slots (io/keras_formats.hpp) when the program starts.
inline const bool installed = install<float>() && install<double>();

}  // namespace xkeras::keras_files::detail
