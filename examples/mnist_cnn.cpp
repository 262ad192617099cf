// E1 of ../shared/EXPERIMENTS.md (seed 000): a CNN with three conv blocks, ported line by line.
//
//   mnist_cnn [--epochs 10] [--batch-size 500] [--seed 1] [--threads N] [--data-dir DIR]
//             [--limit N] [--output out/mnist_cnn]
//
// Conv2D 32/64/128 3x3 same relu, each followed by MaxPool2D 2x2, Flatten, Dense 128 relu,
// Dropout 0.25, Dense 10 softmax: 241,546 params. Adam(1e-3), categorical crossentropy, metric
// 'Accuracy' (the document's spelling, so the logs say `Accuracy` and `val_Accuracy`); 10
// epochs, batch 500, validation_split 0.1; evaluate(batch_size=1, verbose=2). Writes result.json,
// history.csv, the document's accuracy / loss figure (curves.png) and the test set's confusion
// matrix (confusion_matrix.png).
#include "common.hpp"

namespace xk = xkeras;
using namespace xk::layers;

int main(int argc, char** argv) {
    return examples::run([&] {
        auto args = examples::parse_args(argc, argv, "mnist_cnn",
                                         "E1: CNN with three conv blocks on MNIST (seed 000)",
                                         {.epochs = 10, .batch_size = 500, .seed = 1});
        xk::utils::set_random_seed(args.seed);

        auto [train, test] = xk::datasets::mnist::load_data(args.data_dir);
        // x_train = x_train.reshape(-1, 28, 28, 1).astype('float32')/255
        auto x_train = xk::utils::normalize_pixels(examples::take_first(train.images, args.limit));
        auto x_test = xk::utils::normalize_pixels(test.images);
        x_train.reshape({-1, 28, 28, 1});
        x_test.reshape({-1, 28, 28, 1});
        auto y_train =
            xk::utils::to_categorical(examples::take_first(train.labels, args.limit), 10);
        auto y_test = xk::utils::to_categorical(test.labels, 10);
        // Python rebinds x_train and x_test to the float arrays, which frees the uint8 ones
        train.images = {};
        test.images = {};
        std::cout << "x_train shape: " << xk::shape_str(xk::shape_of(x_train)) << "\n"
                  << "x_test shape: " << xk::shape_str(xk::shape_of(x_test)) << "\n";

        xk::Sequential model;
        model.add(Conv2D(32, {3, 3},
                         {.padding = "same", .activation = "relu", .input_shape = {28, 28, 1}}));
        model.add(MaxPool2D({2, 2}));
        model.add(Conv2D(64, {3, 3},
                         {.padding = "same", .activation = "relu", .input_shape = {28, 28, 1}}));
        model.add(MaxPool2D({2, 2}));
        model.add(Conv2D(128, {3, 3},
                         {.padding = "same", .activation = "relu", .input_shape = {28, 28, 1}}));
        model.add(MaxPool2D({2, 2}));
        model.add(Flatten());
        model.add(Dense(128, "relu"));
        model.add(Dropout(0.25));
        model.add(Dense(10, "softmax"));
        model.summary();

        model.compile(xk::optimizers::Adam(1e-3), "categorical_crossentropy", {"Accuracy"});
        auto timer = std::make_shared<examples::EpochTimer>();
        auto History = model.fit(x_train, y_train,
                                 {.batch_size = args.batch_size,
                                  .epochs = args.epochs,
                                  .callbacks = {timer},
                                  .validation_split = 0.1});

        // Loss, accuracy = model.evaluate(x_test, y_test, batch_size=1, verbose=2)
        auto scores = model.evaluate(x_test, y_test, {.batch_size = 1, .verbose = 2});
        std::cout << "Loss: " << scores[0] << "\nAccuracy: " << scores[1] << "\n";

        examples::write_result(args, "E1", model.count_params(), History, *timer, scores[0],
                               scores[1]);
        examples::write_history_csv(args, History);

        // Plot the training history in a diagram: accuracy and loss, side by side
        examples::write_curves(args, History,
                               {.accuracy_title = "The Training Accuracy History",
                                .loss_title = "The Training Loss History",
                                .xlabel = "Epochs",
                                .accuracy_ylabel = "Accuracy",
                                .loss_ylabel = "Loss",
                                .train_label = "Train",
                                .validation_label = "Validation",
                                .accuracy_key = "Accuracy"});
        examples::write_confusion_matrix(args, model, x_test, test.labels);
    });
}
