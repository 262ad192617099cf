// Sequential MNIST: each image read as a sequence of 28 rows of 28 pixels (steps 28, features
// 28), the classic Keras exercise for sequence layers (issue 28; not one of ../shared/seeds/'
// documents). --layer picks what reads the rows:
//   lstm    LSTM(128), then Dense 10 softmax
//   gru     GRU(128), then Dense 10 softmax
//   conv1d  two blocks of two Conv1D(3, "same", relu) - 64 then 128 filters - each ended by
//           MaxPooling1D(2); Flatten, Dropout 0.3, Dense 10 softmax
// Adam at Keras's default rate, halved by ReduceLROnPlateau when the validation loss stalls for
// 2 epochs; batch 128, validation_split 0.1, 20 epochs (docs/examples.md has the figures).
//
//   mnist_rows [--layer lstm] [--epochs 20] [--batch-size 128] [--seed 7] [--threads N]
//              [--data-dir DIR] [--limit N] [--output out/mnist_rows_<layer>]
//
// Writes result.json, history.csv, the curves (curves.png) and the test confusion matrix
// (confusion_matrix.png).
#include "common.hpp"

namespace xk = xkeras;
using namespace xk::layers;

namespace {

xk::Sequential rows_model(const std::string& layer) {
    if (layer == "lstm")
        return xk::Sequential{xk::Input({28, 28}), LSTM(128), Dense(10, "softmax")};
    if (layer == "gru") return xk::Sequential{xk::Input({28, 28}), GRU(128), Dense(10, "softmax")};
    return xk::Sequential{
        xk::Input({28, 28}),
        Conv1D(64, 3, {.padding = "same", .activation = "relu"}),
        Conv1D(64, 3, {.padding = "same", .activation = "relu"}),
        MaxPooling1D(2),
        Conv1D(128, 3, {.padding = "same", .activation = "relu"}),
        Conv1D(128, 3, {.padding = "same", .activation = "relu"}),
        MaxPooling1D(2),
        Flatten(),
        Dropout(0.3),
        Dense(10, "softmax"),
    };
}

}  // namespace

int main(int argc, char** argv) {
    return examples::run([&] {
        auto args = examples::parse_args(
            argc, argv, "mnist_rows", "MNIST as 28 rows of 28 pixels, read by a sequence layer",
            {.epochs = 20, .batch_size = 128, .seed = 7, .layer = "lstm"}, false,
            {"lstm", "gru", "conv1d"});
        xk::utils::set_random_seed(args.seed);

        auto [train, test] = xk::datasets::mnist::load_data(args.data_dir);
        // (N, 28, 28) as it comes: the rows are the steps
        auto x_train = xk::utils::normalize_pixels(examples::take_first(train.images, args.limit));
        auto x_test = xk::utils::normalize_pixels(test.images);
        auto y_train =
            xk::utils::to_categorical(examples::take_first(train.labels, args.limit), 10);
        auto y_test = xk::utils::to_categorical(test.labels, 10);

        auto model = rows_model(args.layer);
        model.summary();

        model.compile("adam", "categorical_crossentropy", {"accuracy"});
        auto timer = std::make_shared<examples::EpochTimer>();
        auto plateau = std::make_shared<xk::callbacks::ReduceLROnPlateau<float>>(
            xk::callbacks::ReduceLROnPlateauOptions{
                .factor = 0.5, .patience = 2, .verbose = 1, .min_lr = 1e-5});
        auto history = model.fit(x_train, y_train,
                                 {.batch_size = args.batch_size,
                                  .epochs = args.epochs,
                                  .verbose = 1,
                                  .callbacks = {timer, plateau},
                                  .validation_split = 0.1});

        auto scores = model.evaluate(x_test, y_test, {.verbose = 0});
        std::cout << "Test loss: " << scores[0] << "\nTest accuracy: " << scores[1] << "\n";
        examples::write_result(args, "MNIST-rows-" + args.layer, model.count_params(), history,
                               *timer, scores[0], scores[1], {{"layer", args.layer}});
        examples::write_history_csv(args, history);
        examples::write_curves(args, history, {});
        examples::write_confusion_matrix(args, model, x_test, test.labels);
    });
}
