// E3 of ../shared/EXPERIMENTS.md (seed 002): a CNN of four 2x2 conv layers and four dense layers,
// meant for deployment on a Raspberry Pi, ported line by line.
//
//   mnist_cnn_deploy [--epochs 30] [--batch-size 512] [--seed 7] [--threads N] [--data-dir DIR]
//                    [--limit N] [--output out/mnist_cnn_deploy]
//
// Prints the sample count and shapes, the classes of the first 12 training images (the
// document's 3x4 grid), the summary (503,762 params) and, as the document compares them, the
// parameter counts of its baseline CNN (542,230) and its MLP; trains with Adam, batch 512,
// 30 epochs, validation_split 0.2 (94 steps per epoch) and evaluates on the test set (the
// document requires > 99%). Saves the model as Keras does (mnist_cnn_deploy.keras, which
// predict_digit and Keras 3 load) and
// writes result.json, history.csv, the 3x4 grid of training digits (training_digits.png), the
// loss / accuracy curves (curves.png) and the test confusion matrix (confusion_matrix.png).
//
// The recipe's test accuracy depends on the seed more than any other example's (about 98.5-99.0%;
// docs/examples.md has the spread over seeds, against the PyTorch replica): the default seed is
// one whose run sits near the middle of that spread at 1 and at 2 threads, not a lucky one.
#include <xkeras/keras_files.hpp>

#include "common.hpp"
#include "seed_models.hpp"

namespace xk = xkeras;
using namespace xk::layers;

int main(int argc, char** argv) {
    return examples::run([&] {
        auto args = examples::parse_args(argc, argv, "mnist_cnn_deploy",
                                         "E3: CNN for deployment, 4 conv 2x2 + 4 dense (seed 002)",
                                         {.epochs = 30, .batch_size = 512, .seed = 7});
        xk::utils::set_random_seed(args.seed);
        const int num_classes = 10;

        auto [train, test] = xk::datasets::mnist::load_data(args.data_dir);
        auto X_train = xk::utils::normalize_pixels(examples::take_first(train.images, args.limit));
        auto X_test = xk::utils::normalize_pixels(test.images);
        auto y_train = examples::take_first(train.labels, args.limit);
        auto& y_test = test.labels;

        // the 3x4 grid of training images, titled with their class
        std::cout << "First 12 training images, by class:";
        std::vector<std::string> classes;
        for (std::size_t i = 0; i < 12; ++i) {
            std::cout << " Class " << int(y_train(i)) << (i < 11 ? "," : "\n");
            classes.push_back("Class " + std::to_string(y_train(i)));
        }
        const auto grid = examples::output_file(args, "training_digits.png");
        xk::plot::digit_grid(xt::view(train.images, xt::range(0, 12)), 3, 4, grid,
                             {.titles = classes});
        std::cout << "Wrote " << grid.string() << "\n";

        const std::size_t m = X_train.shape()[0], test_n = X_test.shape()[0];
        std::cout << "The number of samples is " << m << "\n";
        X_train.reshape({m, 28, 28, 1});
        X_test.reshape({test_n, 28, 28, 1});
        std::cout << "Train: " << xk::shape_str(xk::shape_of(X_train)) << "\n"
                  << "Test: " << xk::shape_str(xk::shape_of(X_test)) << "\n";

        // convert the output labels to categorical data
        auto Y_train = xk::utils::to_categorical(y_train, num_classes);
        auto Y_test = xk::utils::to_categorical(y_test, num_classes);

        // initialize the model
        xk::Sequential model;
        // THE CONVOLUTIONAL LAYERS
        model.add(Conv2D(16, {2, 2},
                         {.padding = "same", .activation = "relu", .input_shape = {28, 28, 1}}));
        model.add(MaxPooling2D({2, 2}, {.strides = size2{2, 2}}));  // (14, 14, 16)
        model.add(Conv2D(32, {2, 2}, {.padding = "same", .activation = "relu"}));
        model.add(MaxPooling2D({2, 2}, {.strides = size2{2, 2}}));  // (7, 7, 32)
        model.add(Conv2D(64, {2, 2}, {.padding = "same", .activation = "relu"}));
        model.add(MaxPooling2D({2, 2}, {.strides = size2{2, 2}}));  // (3, 3, 64)
        model.add(Conv2D(128, {2, 2}, {.padding = "same", .activation = "relu"}));
        model.add(MaxPooling2D({2, 2}, {.strides = size2{2, 2}}));  // (1, 1, 128)
        // FLATTEN
        model.add(Flatten());
        // THE FULLY CONNECTED LAYERS
        model.add(Dense(784, "relu"));
        model.add(Dense(392, "relu"));
        model.add(Dense(128, "relu"));
        model.add(Dense(num_classes, "softmax"));
        model.summary();

        // the document's comparison: its baseline CNN and its MLP
        xk::Sequential baseline;
        seed_models::e3_baseline_cnn(baseline);
        std::cout << "Number of parameters in baseline CNN: "
                  << xk::detail::thousands(baseline.count_params()) << "\n"
                  << "Number of parameters in my CNN: "
                  << xk::detail::thousands(model.count_params()) << "\n";

        // compile the model
        model.compile("adam", "categorical_crossentropy", {"accuracy"});
        // training
        auto timer = std::make_shared<examples::EpochTimer>();
        auto history = model.fit(X_train, Y_train,
                                 {.batch_size = args.batch_size,
                                  .epochs = args.epochs,
                                  .verbose = 1,
                                  .callbacks = {timer},
                                  .validation_split = 0.20});

        auto scores = model.evaluate(X_test, Y_test, {.verbose = 0});
        std::cout << "Test loss: " << scores[0] << "\nTest accuracy: " << scores[1] << "\n"
                  << (scores[1] > 0.99 ? "The requirement (> 99%) is met.\n"
                                       : "The requirement (> 99%) is NOT met.\n");
        // save the model for deployment (predict_digit loads it)
        std::filesystem::create_directories(args.output);
        const auto saved = std::filesystem::path(args.output) / "mnist_cnn_deploy.keras";
        model.save(saved);
        // and in xkeras's own format, which needs no HDF5 or libzip where it is loaded
        auto saved_xk = saved;
        model.save(saved_xk.replace_extension(".xk"));
        std::cout << "Saved model to " << saved.string() << " and " << saved_xk.string() << "\n";
        examples::write_result(
            args, "E3", model.count_params(), history, *timer, scores[0], scores[1],
            {{"baseline_cnn_params", baseline.count_params()}, {"model_file", saved.string()}});
        examples::write_history_csv(args, history);
        // 'Model Loss Performance: Train vs. validation' and its accuracy twin, with a grid
        examples::write_curves(
            args, history,
            {.accuracy_title = "Model Accuracy Performance: Train vs. validation",
             .loss_title = "Model Loss Performance: Train vs. validation",
             .xlabel = "Epoch",
             .accuracy_ylabel = "Accuracy",
             .loss_ylabel = "Loss",
             .train_label = "Train",
             .validation_label = "Validation",
             .grid = true});
        examples::write_confusion_matrix(args, model, X_test, y_test);
    });
}
