// E4 of ../shared/EXPERIMENTS.md (seed 003): keras-io's MNIST convnet trained with EarlyStopping
// and ModelCheckpoint, then the best checkpoint loaded back and evaluated.
//
//   mnist_cnn_earlystop [--epochs 50] [--batch-size 32] [--seed 3] [--threads N]
//                       [--data-dir DIR] [--limit N] [--output out/mnist_cnn_earlystop]
//
// Conv2D 32 3x3 relu, MaxPooling2D, Conv2D 64 3x3 relu, MaxPooling2D, Flatten, Dropout 0.25,
// Dense 10 softmax: 34,826 params. Adam, categorical crossentropy, accuracy; 50 epochs at most,
// batch 32 (Keras's default: 1313 steps), validation_split 0.3, with
// EarlyStopping(val_accuracy, min_delta 0.01, patience 4, verbose 1, restore_best_weights) and
// ModelCheckpoint("best.keras", val_accuracy, verbose 1, save_best_only) printing Keras's
// messages and writing a Keras 3 file, as the document's. Writes
// result.json, history.csv, the curves (curves.png; the document draws none, so Keras's usual
// "model accuracy" / "model loss") and the best model's test confusion matrix
// (confusion_matrix.png). digit_board serves the document's drawing application with best.keras.
#include <xkeras/keras_files.hpp>

#include "common.hpp"

namespace xk = xkeras;
using namespace xk::layers;

int main(int argc, char** argv) {
    return examples::run([&] {
        auto args =
            examples::parse_args(argc, argv, "mnist_cnn_earlystop",
                                 "E4: CNN with EarlyStopping and ModelCheckpoint (seed 003)",
                                 {.epochs = 50, .batch_size = 32, .seed = 3});
        xk::utils::set_random_seed(args.seed);

        auto [train, test] = xk::datasets::mnist::load_data(args.data_dir);
        std::cout << "Training data shape: " << xk::shape_str(xk::shape_of(train.images))
                  << ", Labels shape: " << xk::shape_str(xk::shape_of(train.labels)) << "\n"
                  << "Testing data shape: " << xk::shape_str(xk::shape_of(test.images))
                  << ", Labels shape: " << xk::shape_str(xk::shape_of(test.labels)) << "\n";
        auto y_train_one_hot =
            xk::utils::to_categorical(examples::take_first(train.labels, args.limit), 10);
        auto y_test_one_hot = xk::utils::to_categorical(test.labels, 10);
        auto X_train = xk::utils::normalize_pixels(examples::take_first(train.images, args.limit));
        auto X_test_processed = xk::utils::normalize_pixels(test.images);
        X_train.reshape({X_train.shape()[0], X_train.shape()[1], X_train.shape()[2], 1});
        X_test_processed.reshape({-1, 28, 28, 1});

        xk::Sequential model;
        model.add(Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = {28, 28, 1}}));
        model.add(MaxPooling2D({2, 2}));
        model.add(Conv2D(64, {3, 3}, "relu"));
        model.add(MaxPooling2D({2, 2}));
        model.add(Flatten());
        model.add(Dropout(0.25));
        model.add(Dense(10, "softmax"));
        model.summary();

        model.compile(xk::optimizers::Adam(), "categorical_crossentropy", {"accuracy"});

        std::filesystem::create_directories(args.output);
        const std::string best = (std::filesystem::path(args.output) / "best.keras").string();
        auto es = std::make_shared<xk::callbacks::EarlyStopping<float>>(
            xk::callbacks::EarlyStoppingOptions{.monitor = "val_accuracy",
                                                .min_delta = 0.01,
                                                .patience = 4,
                                                .verbose = 1,
                                                .restore_best_weights = true});
        auto mc = std::make_shared<xk::callbacks::ModelCheckpoint<float>>(
            best, xk::callbacks::ModelCheckpointOptions{
                      .monitor = "val_accuracy", .verbose = 1, .save_best_only = true});
        auto timer = std::make_shared<examples::EpochTimer>();
        auto history = model.fit(X_train, y_train_one_hot,
                                 {.batch_size = args.batch_size,
                                  .epochs = args.epochs,
                                  .callbacks = {es, mc, timer},
                                  .validation_split = 0.3});

        // load the best model back and evaluate it on the test set
        auto saved_model = xk::load_model(best);
        auto test_results = saved_model.evaluate(X_test_processed, y_test_one_hot);
        std::cout << "Test Accuracy: " << test_results[1] << "\n";

        examples::write_result(args, "E4", model.count_params(), history, *timer, test_results[0],
                               test_results[1],
                               {{"best_model", best},
                                {"stopped_epoch", es->stopped_epoch()},
                                {"best_epoch", es->best_epoch() + 1}});
        examples::write_history_csv(args, history);
        examples::write_curves(args, history, {});
        examples::write_confusion_matrix(args, saved_model, X_test_processed, test.labels);
    });
}
