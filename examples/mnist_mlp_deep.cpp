// E5's MLP of ../shared/EXPERIMENTS.md ("MNIST with Keras", seed 004): five Dense 64 relu, a
// Dropout 0.2 and a Dense 10 softmax, Adam, 50 epochs with the test set as validation data.
//
//   mnist_mlp_deep [--epochs 50] [--batch-size 32] [--seed 4] [--threads N] [--data-dir DIR]
//                  [--limit N] [--output out/mnist_mlp_deep] [--raw-pixels]
//
// The document did not seed its runs (and regrets it): the seed here makes the run repeatable.
// Writes result.json, the model diagram (model.dot, and model.png with Graphviz: the document's
// plot_model(model, show_shapes=True)), the accuracy / loss curves (curves.png, with the
// document's dashed reference lines at 1, 0.95 and 0.9) and the weights as Keras 3 saves them
// (mnist_mlp_deep.weights.h5).
#include <xkeras/keras_files.hpp>

#include "common.hpp"

namespace xk = xkeras;
using namespace xk::layers;

int main(int argc, char** argv) {
    return examples::run([&] {
        auto args = examples::parse_args(argc, argv, "mnist_mlp_deep",
                                         "E5: deep thin MLP (5 x Dense 64) on MNIST (seed 004)",
                                         {.epochs = 50, .batch_size = 32, .seed = 4},
                                         /*offer_raw_pixels=*/true);
        xk::utils::set_random_seed(args.seed);

        const double dropout_ratio = 0.2;
        const int neurons_in_layers = 64;

        // load dataset
        auto [train, test] = xk::datasets::mnist::load_data(args.data_dir);

        // reshape our dataset to make it processable by the NN. The document's code feeds the raw
        // 0-255 pixels; EXPERIMENTS.md prescribes float32 / 255 for every seed, which we follow
        // (--raw-pixels reproduces the code as written).
        const double scale = args.raw_pixels ? 1.0 : 255.0;
        auto x_train =
            xk::utils::normalize_pixels(examples::take_first(train.images, args.limit), scale);
        auto x_test = xk::utils::normalize_pixels(test.images, scale);
        x_train.reshape({x_train.shape()[0], 784});
        x_test.reshape({x_test.shape()[0], 784});

        // create a vector with 10 rows for each value in y_train in y_test
        auto y_train_labels =
            xk::utils::to_categorical(examples::take_first(train.labels, args.limit), 10);
        auto y_test_labels = xk::utils::to_categorical(test.labels, 10);

        xk::Sequential model;
        model.add(Dense(neurons_in_layers, {.input_shape = {784}}));
        model.add(Activation("relu"));
        model.add(Dense(neurons_in_layers));
        model.add(Activation("relu"));
        model.add(Dense(neurons_in_layers));
        model.add(Activation("relu"));
        model.add(Dense(neurons_in_layers));
        model.add(Activation("relu"));
        model.add(Dense(neurons_in_layers));
        model.add(Activation("relu"));
        model.add(Dropout(dropout_ratio));
        model.add(Dense(10));
        model.add(Activation("softmax"));

        model.compile("adam", "categorical_crossentropy", {"accuracy"});
        model.summary();
        // plot_model(model, to_file="models-png/" + date + '_model.png', show_shapes=True)
        examples::write_model_diagram(args, model);

        auto timer = std::make_shared<examples::EpochTimer>();
        auto history = model.fit(x_train, y_train_labels,
                                 {.batch_size = args.batch_size,
                                  .epochs = args.epochs,
                                  .verbose = 1,
                                  .callbacks = {timer},
                                  .validation_data = std::pair{x_test, y_test_labels}});

        std::cout << "History keys:";
        for (const auto& [key, values] : history.history) std::cout << " " << key;
        std::cout << "\n";

        auto scores = model.evaluate(x_test, y_test_labels, {.verbose = 0});
        std::cout << "Test loss: " << scores[0] << "\nTest accuracy: " << scores[1] << "\n";
        // the document's "weights saved", in Keras 3's format
        std::filesystem::create_directories(args.output);
        const auto weights = std::filesystem::path(args.output) / "mnist_mlp_deep.weights.h5";
        model.save_weights(weights);
        std::cout << "Saved weights to " << weights.string() << "\n";
        examples::write_result(args, "E5-MLP", model.count_params(), history, *timer, scores[0],
                               scores[1], {{"weights_file", weights.string()}});
        // 'model - accuracy and loss', here as two panels, with the reference lines at 1, 0.95, 0.9
        examples::write_curves(args, history,
                               {.train_label = "train",
                                .validation_label = "test",
                                .accuracy_legend_loc = "lower right",
                                .accuracy_reference_lines = {1.0, 0.95, 0.9}});
    });
}
