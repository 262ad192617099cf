// xkeras/layers.hpp - every built-in layer (the list is layers/builtin.hpp) and the registry.
#pragma once

#include "layers/builtin.hpp"
#include "layers/input_layer.hpp"
#include "layers/layer.hpp"
#include "layers/registry.hpp"
