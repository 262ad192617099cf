// predict_digit: classifies pictures of handwritten digits with a saved model (E3's deployment:
// the document ships its trained model to a Raspberry Pi and classifies single images there).
//
//   predict_digit --model out/mnist_cnn_deploy/mnist_cnn_deploy.keras digit1.png digit2.pgm ...
//
// Each picture (PNG, PGM, JPEG, BMP; any size; a dark digit on light paper or the reverse) is
// prepared as MNIST's digits were (examples/digit_image.hpp) and the digit and the ten
// probabilities are printed; with --csv, one line per picture, the probabilities to nine
// significant digits, for comparing builds (scripts/arm64.sh). Only inference: nothing is
// trained, and the program is built on the inference-only include (xkeras/predictor.hpp), as a
// deployment would be (docs/deployment.md).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include <xkeras/predictor.hpp>

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
        const xkeras::Predictor model(model_path);
        constexpr std::size_t pixels = std::size_t(digit_image::side) * digit_image::side;
        if (model.input_size() != pixels)
            throw xkeras::shape_error("'" + model_path + "' takes samples of " +
                                      std::to_string(model.input_size()) +
                                      " values; a digit is 28 x 28 = 784 (a shape (28, 28, 1) "
                                      "or (784) input)");
        int failures = 0;
        for (const auto& path : images) {
            try {
                const auto p = model.predict(digit_image::to_mnist(digit_image::load(path)));
                std::size_t best = 0;
                for (std::size_t k = 1; k < p.size(); ++k)
                    if (p[k] > p[best]) best = k;
                if (csv) {
                    std::printf("%s,%zu", path.c_str(), best);
                    for (std::size_t k = 0; k < p.size(); ++k) std::printf(",%.9g", double(p[k]));
                } else {
                    std::printf("%s: %zu (%.1f%%) |", path.c_str(), best, 100.0 * p[best]);
                    for (std::size_t k = 0; k < p.size(); ++k)
                        std::printf(" %zu:%.3f", k, double(p[k]));
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
