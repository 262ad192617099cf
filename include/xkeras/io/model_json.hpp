// xkeras/io/model_json.hpp - model.to_json() and xkeras::model_from_json(text): the architecture
// as Keras-compatible JSON (implemented in detail/model_json_impl.hpp, which model.hpp includes).
#pragma once

#include "../model.hpp"
