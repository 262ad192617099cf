// E2 of ../shared/EXPERIMENTS.md: "Handwritten Digit Classifier Using Tensor Flow and Keras"
// (seed 001), an MLP 784-512-256-10 with dropout, ported line by line.
//
//   mnist_mlp [--epochs 30] [--batch-size 128] [--seed 9] [--threads N] [--data-dir DIR]
//             [--limit N] [--output out/mnist_mlp]
//
// Prints the shapes, the first ten labels, the summary (535,818 params), one line per epoch
// (verbose 2), the test loss and accuracy and the predictions for the first 25 test digits, and
// writes result.json, the accuracy / loss curves (curves.png) and the 5x5 grid of the first 25
// test digits with their predictions (predictions.png; wrong ones in red).
#include "common.hpp"

namespace xk = xkeras;
using namespace xk::layers;

int main(int argc, char** argv) {
    return examples::run([&] {
        auto args = examples::parse_args(argc, argv, "mnist_mlp",
                                         "E2: MLP 512-256 with dropout on MNIST (Keras seed 001)",
                                         {.epochs = 30, .batch_size = 128, .seed = 9});
        // fix a random seed for reproducibility
        xk::utils::set_random_seed(args.seed);

        // user inputs
        const int num_classes = 10;
        const std::size_t v_length = 784;

        // split the mnist data into training and testing samples
        auto [train, test] = xk::datasets::mnist::load_data(args.data_dir);
        auto trainLabels = examples::take_first(train.labels, args.limit);
        auto& testLabels = test.labels;
        std::cout << "TRAIN DATA SHAPE: " << xk::shape_str(xk::shape_of(train.images)) << "\n"
                  << "TEST DATA SHAPE: " << xk::shape_str(xk::shape_of(test.images)) << "\n"
                  << "TRAIN DATA SAMPLES: " << train.images.shape()[0] << "\n"
                  << "TEST DATA SAMPLES: " << test.images.shape()[0] << "\n";
        std::cout << "First ten training labels:";
        for (std::size_t i = 0; i < 10; ++i) std::cout << " " << int(trainLabels(i));
        std::cout << "\n";

        // reshape the dataset; float32 / 255
        auto trainData =
            xk::utils::normalize_pixels(examples::take_first(train.images, args.limit));
        auto testData = xk::utils::normalize_pixels(test.images);
        trainData.reshape({trainData.shape()[0], v_length});
        testData.reshape({testData.shape()[0], v_length});
        std::cout << "Printing some info:\n"
                  << "trainData shape: " << xk::shape_str(xk::shape_of(trainData)) << "\n"
                  << "testdata shape: " << xk::shape_str(xk::shape_of(testData)) << "\n"
                  << "Number of train samples: " << trainData.shape()[0] << "\n"
                  << "Number of test samples: " << testData.shape()[0] << "\n";

        // convert class vectors to binary class matrices
        auto mTrainLabels = xk::utils::to_categorical(trainLabels, num_classes);
        auto mTestLabels = xk::utils::to_categorical(testLabels, num_classes);

        // create the model
        xk::Sequential model;
        model.add(Dense(512, {.input_shape = {784}}));
        model.add(Activation("relu"));
        model.add(Dropout(0.5));
        model.add(Dense(256));
        model.add(Activation("relu"));
        model.add(Dropout(0.2));
        model.add(Dense(num_classes));
        model.add(Activation("softmax"));

        // summarize the model
        model.summary();

        // compile the model
        model.compile("adam", "categorical_crossentropy", {"accuracy"});

        // fit the model
        auto timer = std::make_shared<examples::EpochTimer>();
        auto history = model.fit(trainData, mTrainLabels,
                                 {.batch_size = args.batch_size,
                                  .epochs = args.epochs,
                                  .verbose = 2,
                                  .callbacks = {timer},
                                  .validation_data = std::pair{testData, mTestLabels}});

        // print the history keys
        std::cout << "History keys:";
        for (const auto& [key, values] : history.history) std::cout << " " << key;
        std::cout << "\n";

        // evaluate the model
        auto scores = model.evaluate(testData, mTestLabels, {.verbose = 0});
        std::cout << "Test score : " << scores[0] << "\n"
                  << "Test accuracy: " << scores[1] << "\n";

        // the predictions for the first 25 test images
        auto test_images = xt::xarray<float>(xt::view(testData, xt::range(0, 25)));
        auto probabilities = model.predict(test_images);
        std::vector<std::string> titles;
        std::vector<bool> wrong;
        for (std::size_t i = 0; i < 25; ++i) {
            auto row = xt::row(probabilities, std::ptrdiff_t(i));
            auto prediction = std::max_element(row.begin(), row.end()) - row.begin();
            std::cout << "The prediction for the digit  " << i + 1 << "  is " << prediction << "\n";
            wrong.push_back(prediction != testLabels(i));
            titles.push_back("Prediction: " + std::to_string(prediction) +
                             (wrong.back() ? " (is " + std::to_string(testLabels(i)) + ")" : ""));
        }

        examples::write_result(args, "E2", model.count_params(), history, *timer, scores[0],
                               scores[1]);
        // history plots for accuracy and loss; the legend says "test" as the document's does
        // (its validation data is the test set)
        examples::write_curves(args, history,
                               {.accuracy_title = "Model Accuracy",
                                .loss_title = "Model Loss",
                                .xlabel = "Epoch",
                                .accuracy_ylabel = "Accuracy",
                                .loss_ylabel = "Loss",
                                .validation_label = "test",
                                .accuracy_legend_loc = "upper left",
                                .loss_legend_loc = "upper left"});
        // plt.imshow(255 - org_image) under plt.title("Prediction: %i"), 5x5
        const auto grid = examples::output_file(args, "predictions.png");
        xk::plot::digit_grid(
            xt::view(test.images, xt::range(0, 25)), 5, 5, grid,
            {.titles = titles, .marked = wrong, .invert = true, .bold_titles = true});
        std::cout << "Wrote " << grid.string() << "\n";
    });
}
