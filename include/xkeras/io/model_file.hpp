// xkeras/io/model_file.hpp - model.save / xkeras::load_model and save_weights / load_weights
// (implemented in detail/model_file_impl.hpp, which model.hpp includes; the format is in
// docs/file-format.md).
#pragma once

#include "../model.hpp"
