// tests/fuzz/make_seeds.cpp - writes the fuzz targets' seed corpora, tests/fuzz/corpus/<target>/,
// from real files: the first MNIST test images and labels, model and weights files saved by
// xkeras, Keras JSON (xkeras's Keras 3 form and tf.keras 2.x's), pictures of a real MNIST digit
// (PNG, PGM, BMP, JPEG) and /predict bodies drawing one. Not built by default; run by hand after
// a format change (about 1 minute to compile):
//   g++ -std=c++20 -O1 -Iinclude -I/usr/include/x86_64-linux-gnu/openblas-pthread \
//       -I/usr/include/stb tests/fuzz/make_seeds.cpp -lopenblas -lz -lstb \
//       -o /tmp/make_seeds && /tmp/make_seeds tests/fuzz/corpus ~/.xkeras/datasets/mnist
#include <stb_image_write.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include <xkeras/xkeras.hpp>

namespace fs = std::filesystem;
namespace xk = xkeras;
using namespace xk::layers;

namespace {

fs::path out_dir;

void write(const std::string& target, const std::string& name, const std::string& bytes) {
    fs::create_directories(out_dir / target);
    std::ofstream(out_dir / target / name, std::ios::binary) << bytes;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// An IDX file of the first `n` items of a real one: the header with the count changed.
std::string idx_head(const std::string& file, std::uint32_t n, std::size_t item) {
    const std::size_t rank = std::size_t(file[3]);
    std::string out = file.substr(0, 4 + 4 * rank);
    for (int s = 0; s < 4; ++s) out[4 + std::size_t(s)] = char((n >> (24 - 8 * s)) & 0xff);
    return out + file.substr(4 + 4 * rank, n * item);
}

/// The fuzz_weights target's model (fuzz_weights.cpp).
xk::Sequential weights_model() {
    xk::Sequential s;
    s.add(xk::Input({6, 6, 1}));
    s.add(Conv2D(2, 3, "relu"));
    s.add(BatchNormalization());
    s.add(Flatten());
    s.add(Dense(3, "softmax"));
    return s;
}

/// A model file as the targets read it: a mode byte (1: the target recomputes the checksum).
std::string with_mode(char mode, const fs::path& file) {
    return std::string(1, mode) + slurp(file);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: make_seeds <corpus dir> <mnist dir>\n";
        return 2;
    }
    out_dir = argv[1];
    const fs::path mnist = argv[2];
    xk::utils::set_random_seed(1);

    // idx: the first 3 test images, the first 10 labels
    const auto images = slurp(mnist / "t10k-images-idx3-ubyte");
    const auto labels = slurp(mnist / "t10k-labels-idx1-ubyte");
    write("idx", "t10k-images-3", idx_head(images, 3, 28 * 28));
    write("idx", "t10k-labels-10", idx_head(labels, 10, 1));

    // model_file: a small compiled CNN trained a step (optimizer state, Dropout state), and an
    // uncompiled MLP; weights: the fixed model of fuzz_weights
    const fs::path tmp = fs::temp_directory_path() / "xkeras-make-seeds";
    fs::create_directories(tmp);
    {
        xk::Sequential m;
        m.add(xk::Input({6, 6, 1}));
        m.add(Conv2D(2, 3, {.padding = "same", .activation = "relu"}));
        m.add(MaxPooling2D(2));
        m.add(Flatten());
        m.add(Dropout(0.25));
        m.add(Dense(3, "softmax"));
        m.compile(xk::optimizers::Adam(1e-3), "categorical_crossentropy", {"accuracy"});
        xt::xarray<float> x = xt::ones<float>({2, 6, 6, 1});
        xt::xarray<float> y = xt::zeros<float>({2, 3});
        y(0, 1) = y(1, 2) = 1;
        m.fit(x, y, {.batch_size = 2, .epochs = 1, .verbose = 0});
        m.save(tmp / "cnn.xk");
        write("model_file", "cnn_adam.xk", with_mode(1, tmp / "cnn.xk"));
        write("model_file", "cnn_adam_checksum.xk", with_mode(0, tmp / "cnn.xk"));
        write("model_json", "cnn_adam.json", m.to_json());
    }
    {
        xk::Sequential m;
        m.add(Dense(4, {.activation = "relu", .input_shape = {5}}));
        m.add(Dense(2, "sigmoid"));
        m.save(tmp / "mlp.xk");
        write("model_file", "mlp.xk", with_mode(1, tmp / "mlp.xk"));
        m.save_weights(tmp / "mlp.weights.xk");
        write("model_file", "mlp_weights_only.xk", with_mode(1, tmp / "mlp.weights.xk"));
    }
    {
        auto m = weights_model();
        m.save_weights(tmp / "w.xk");
        write("weights", "conv_bn_dense.weights.xk", with_mode(1, tmp / "w.xk"));
        write("weights", "conv_bn_dense_checksum.weights.xk", with_mode(0, tmp / "w.xk"));
        m.save(tmp / "wm.xk");
        write("weights", "conv_bn_dense_model.xk", with_mode(1, tmp / "wm.xk"));
    }
    {
        xk::Sequential m;
        m.add(xk::Input({8, 8, 2}));
        m.add(Conv2D(3, {2, 3}, {.strides = 2, .padding = "valid"}));
        m.add(BatchNormalization());
        m.add(AveragePooling2D(2, {.padding = "same"}));
        m.add(GlobalAveragePooling2D());
        m.add(Reshape({3, 1}));
        m.add(Flatten());
        m.add(Activation("tanh"));
        m.add(Dense(2, {.kernel_regularizer = xk::regularizers::Regularizer(0.0, 0.01)}));
        m.compile(xk::optimizers::SGD({.learning_rate = 0.1, .momentum = 0.9, .nesterov = true}),
                  "mse", {"mae"});
        write("model_json", "every_layer.json", m.to_json(2));
    }
    {
        xk::Sequential images{xk::Input({6, 5, 2}),
                              ZeroPadding2D({{1, 0}, {2, 1}}),
                              Cropping2D({1, 2}),
                              UpSampling2D({2, 1}),
                              ReLU({.max_value = 6.0, .negative_slope = 0.1, .threshold = 0.5}),
                              ELU({.alpha = 0.5}),
                              GlobalMaxPooling2D({.keepdims = true}),
                              Softmax({.axis = -1})};
        write("model_json", "resizing_activations.json", images.to_json(2));
        xk::Sequential steps{xk::Input({7, 3}), GlobalMaxPooling1D({.keepdims = true}),
                             GlobalAveragePooling1D(), Dense(2), Softmax()};
        steps.compile("adam", "categorical_crossentropy", {"accuracy"});
        write("model_json", "steps_softmax.json", steps.to_json(2));
        xk::Sequential words{xk::Input({12}),
                             Embedding(20, 4),
                             Conv1D(3, 3, {.padding = "causal", .dilation_rate = 2}),
                             MaxPooling1D(2),
                             Conv1D(2, 2, {.strides = 2, .padding = "same", .activation = "relu"}),
                             AveragePooling1D(2, {.padding = "same"}),
                             LSTM(3, {.return_sequences = true, .go_backwards = true}),
                             GRU(2, {.activation = "relu"}),
                             Dense(1, "sigmoid")};
        words.compile("adam", "binary_crossentropy", {"accuracy"});
        write("model_json", "sequence_layers.json", words.to_json(2));
    }
    // tf.keras 2.x's form (tests/test_model_io.cpp): InputLayer batch_input_shape, axis lists
    write("model_json", "tf_keras2_convnet.json",
          R"({"class_name": "Sequential", "config": {"name": "sequential", "layers": [
{"class_name": "InputLayer", "config": {"batch_input_shape": [null, 12, 12, 1], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_1"}},
{"class_name": "Conv2D", "config": {"name": "conv2d", "trainable": true, "dtype": "float32", "filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu", "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}},
{"class_name": "BatchNormalization", "config": {"name": "batch_normalization", "trainable": true, "dtype": "float32", "axis": [3], "momentum": 0.99, "epsilon": 0.001, "center": true, "scale": true, "beta_initializer": {"class_name": "Zeros", "config": {}}, "gamma_initializer": {"class_name": "Ones", "config": {}}, "moving_mean_initializer": {"class_name": "Zeros", "config": {}}, "moving_variance_initializer": {"class_name": "Ones", "config": {}}, "beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null, "gamma_constraint": null}},
{"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d", "trainable": true, "dtype": "float32", "pool_size": [2, 2], "padding": "valid", "strides": [2, 2], "data_format": "channels_last"}},
{"class_name": "Flatten", "config": {"name": "flatten", "trainable": true, "dtype": "float32", "data_format": "channels_last"}},
{"class_name": "Dropout", "config": {"name": "dropout", "trainable": true, "dtype": "float32", "rate": 0.5, "noise_shape": null, "seed": null}},
{"class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "units": 10, "activation": "softmax", "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}}]}, "keras_version": "2.13.1", "backend": "tensorflow"})");
    write("model_json", "tf_keras_old_mlp.json",
          R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
{"class_name": "Dense", "config": {"name": "dense", "batch_input_shape": [null, 16], "units": 8, "activation": "relu", "kernel_initializer": {"class_name": "VarianceScaling", "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": null}}}},
{"class_name": "Activation", "config": {"name": "activation_4", "activation": "relu"}},
{"class_name": "Dropout", "config": {"name": "dropout_3", "rate": 0.5, "noise_shape": null, "seed": 7}},
{"class_name": "Dense", "config": {"name": "dense_1", "units": 10, "activation": "softmax", "kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}}}}]},
"compile_config": {"optimizer": {"class_name": "RMSprop", "config": {"learning_rate": 0.001}}, "loss": "categorical_crossentropy", "metrics": ["accuracy"]}})");

    // image: the first MNIST test digit (a 7), drawn 2x larger, dark on light paper
    const int w = 56, h = 56;
    std::vector<unsigned char> page(std::size_t(w * h));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            page[std::size_t(y * w + x)] = static_cast<unsigned char>(
                230 -
                200 * static_cast<unsigned char>(images[16 + std::size_t((y / 2) * 28 + x / 2)]) /
                    255);
    stbi_write_png((tmp / "d.png").c_str(), w, h, 1, page.data(), w);
    write("image", "digit7.png", slurp(tmp / "d.png"));
    stbi_write_bmp((tmp / "d.bmp").c_str(), 28, 28, 1, images.data() + 16);
    write("image", "digit7.bmp", slurp(tmp / "d.bmp"));
    stbi_write_jpg((tmp / "d.jpg").c_str(), w, h, 1, page.data(), 80);
    write("image", "digit7.jpg", slurp(tmp / "d.jpg"));
    write("image", "digit7.pgm",
          "P5\n28 28\n255\n" + images.substr(16, 28 * 28));  // light on dark, as MNIST

    // digit_board: a /predict body as the page sends it (here a 28x28 canvas: the real digit
    // at its own size; the page's 400x400 canvas would make a 500 KiB seed), and a blank one
    std::string body = R"({"width": 28, "height": 28, "pixels": [)";
    for (int i = 0; i < 28 * 28; ++i)
        body += (i ? "," : "") +
                std::to_string(int(static_cast<unsigned char>(images[16 + std::size_t(i)])));
    write("digit_board", "digit7.json", body + "]}");
    std::string blank = R"({"width": 8, "height": 8, "pixels": [)";
    for (int i = 0; i < 64; ++i) blank += i ? ",0" : "0";
    write("digit_board", "blank.json", blank + "]}");
    fs::remove_all(tmp);
    std::cout << "seeds written to " << out_dir << "\n";
}
