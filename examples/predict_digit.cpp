// predict_digit: classifies pictures of handwritten digits with a saved model (E3's deployment:
// the document ships its trained model to a Raspberry Pi and classifies single images there).
//
//   predict_digit --model out/mnist_cnn_deploy/mnist_cnn_deploy.keras digit1.png digit2.pgm ...
//
// Each picture (PNG, PGM, JPEG, BMP; any size; a dark digit on light paper or the reverse) is
// prepared as MNIST's digits were (examples/digit_image.hpp) and the digit and the ten
// probabilities are printed; with --csv, one line per picture, the probabilities to nine
// significant digits, for comparing builds (scripts/arm64.sh). Only inference: nothing is
// trained.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include <xkeras/keras_files.hpp>

#include "digit_image.hpp"

int main(int argc, char** argv) {
    std::string model_path;
    std::vector<std::string> images;
    CLI::App app{"Classify pictures of handwritten digits with a saved xkeras model",
                 "predict_digit"};
    app.add_option("--model", model_path,
                   "A model saved by model.save, xkeras's (.xk) or Keras 3's (.keras) "
                   "(e.g. by mnist_cnn_deploy)")
        ->required();
    app.add_option("images", images, "Image files (PNG, PGM, JPEG, BMP)")->required();
    bool csv = false;
    app.add_flag("--csv", csv,
                 "Print 'picture,digit,p0,...,p9' lines, probabilities to 9 significant digits");
    CLI11_PARSE(app, argc, argv);
    try {
        auto model = xkeras::load_model(model_path);
        const auto& in = model.input_shape();
        const bool flat = in.size() == 1;
        int failures = 0;
        for (const auto& path : images) {
            try {
                auto x = digit_image::to_mnist(digit_image::load(path));
                if (flat) x.reshape({1, 784});
                auto p = model.predict(x, 1);
                std::size_t best = 0;
                for (std::size_t k = 1; k < p.shape()[1]; ++k)
                    if (p(0, k) > p(0, best)) best = k;
                if (csv) {
                    std::printf("%s,%zu", path.c_str(), best);
                    for (std::size_t k = 0; k < p.shape()[1]; ++k)
                        std::printf(",%.9g", double(p(0, k)));
                } else {
                    std::printf("%s: %zu (%.1f%%) |", path.c_str(), best, 100.0 * p(0, best));
                    for (std::size_t k = 0; k < p.shape()[1]; ++k)
                        std::printf(" %zu:%.3f", k, double(p(0, k)));
                }
                std::printf("\n");
            } catch (const std::exception& e) {
                std::fprintf(stderr, "%s: %s\n", path.c_str(), e.what());
                ++failures;
            }
        }
        return failures == 0 ? 0 : 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
