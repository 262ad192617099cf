// xkeras/layers/builtin.hpp - the list of built-in layers.
//
// XKERAS_BUILTIN_LAYERS is the one list: it feeds the registry (Keras class name -> from_config
// and example, registry.hpp), registry<T>::names(), and the extern templates
// (extern_templates.hpp), and through names() the tests that run on every layer
// (tests/test_every_layer.cpp). A new layer is its header, included here, and one line of the
// list (docs/adding-a-layer.md).
#pragma once

#include "activation.hpp"
#include "batch_normalization.hpp"
#include "bidirectional.hpp"
#include "conv1d.hpp"
#include "conv2d.hpp"
#include "conv2d_transpose.hpp"
#include "cropping2d.hpp"
#include "dense.hpp"
#include "depthwise_conv2d.hpp"
#include "dropout.hpp"
#include "elu.hpp"
#include "embedding.hpp"
#include "flatten.hpp"
#include "global_pooling.hpp"
#include "gru.hpp"
#include "layer_normalization.hpp"
#include "leaky_relu.hpp"
#include "lstm.hpp"
#include "masking.hpp"
#include "nested_sequential.hpp"
#include "pooling1d.hpp"
#include "pooling2d.hpp"
#include "prelu.hpp"
#include "random_augmentation.hpp"
#include "relu.hpp"
#include "reshape.hpp"
#include "separable_conv2d.hpp"
#include "simple_rnn.hpp"
#include "softmax.hpp"
#include "spatial_dropout.hpp"
#include "time_distributed.hpp"
#include "up_sampling2d.hpp"
#include "zero_padding2d.hpp"

/// X(Name) for every built-in layer: the C++ class template xkeras::layers::Name, whose Keras
/// class name is "Name".
#define XKERAS_BUILTIN_LAYERS(X) \
    X(Activation)                \
    X(AveragePooling1D)          \
    X(AveragePooling2D)          \
    X(BatchNormalization)        \
    X(Bidirectional)             \
    X(Conv1D)                    \
    X(Conv2D)                    \
    X(Conv2DTranspose)           \
    X(Cropping2D)                \
    X(Dense)                     \
    X(DepthwiseConv2D)           \
    X(Dropout)                   \
    X(ELU)                       \
    X(Embedding)                 \
    X(Flatten)                   \
    X(GlobalAveragePooling1D)    \
    X(GlobalAveragePooling2D)    \
    X(GlobalMaxPooling1D)        \
    X(GlobalMaxPooling2D)        \
    X(GRU)                       \
    X(LSTM)                      \
    X(LayerNormalization)        \
    X(LeakyReLU)                 \
    X(Masking)                   \
    X(MaxPooling1D)              \
    X(MaxPooling2D)              \
    X(PReLU)                     \
    X(RandomBrightness)          \
    X(RandomContrast)            \
    X(RandomFlip)                \
    X(RandomRotation)            \
    X(RandomTranslation)         \
    X(RandomZoom)                \
    X(ReLU)                      \
    X(Reshape)                   \
    X(SeparableConv2D)           \
    X(SimpleRNN)                 \
    X(Softmax)                   \
    X(SpatialDropout1D)          \
    X(SpatialDropout2D)          \
    X(TimeDistributed)           \
    X(UpSampling2D)              \
    X(ZeroPadding2D)

/// X(Alias, Name) for Keras's other names of built-in layers.
#define XKERAS_BUILTIN_LAYER_ALIASES(X)        \
    X(AvgPool1D, AveragePooling1D)             \
    X(AvgPool2D, AveragePooling2D)             \
    X(GlobalAvgPool1D, GlobalAveragePooling1D) \
    X(GlobalAvgPool2D, GlobalAveragePooling2D) \
    X(GlobalMaxPool1D, GlobalMaxPooling1D)     \
    X(GlobalMaxPool2D, GlobalMaxPooling2D)     \
    X(MaxPool1D, MaxPooling1D)                 \
    X(MaxPool2D, MaxPooling2D)

/// X(KerasName, Name) for the built-in layers whose C++ name is not Keras's: a Sequential model
/// used as a layer (xkeras::Sequential is the model itself).
#define XKERAS_BUILTIN_RENAMED_LAYERS(X) X(Sequential, NestedSequential)
