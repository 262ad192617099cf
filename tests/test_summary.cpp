// Parameter counts and output shapes of the seed models against Keras's figures, and the text of
// Keras 3's summary table.
#include <catch2/catch.hpp>

#include <xkeras/xkeras.hpp>

#include "../examples/seed_models.hpp"

using namespace xkeras;

TEST_CASE("E2's MLP has Keras's 535,818 parameters and shapes", "[summary][e2]") {
    Sequential model;
    seed_models::e2_mlp(model);
    CHECK(model.count_params() == 535818);
    std::vector<std::size_t> counts;
    for (auto* l : model.layers()) counts.push_back(l->count_params());
    CHECK(counts == std::vector<std::size_t>{401920, 0, 0, 131328, 0, 0, 2570, 0});
    CHECK(model.output_shape() == shape_t{10});
}

TEST_CASE("E5's deep thin MLP has 67,530 parameters", "[summary][e5]") {
    Sequential model;
    seed_models::e5_mlp(model);
    // 784*64+64 + 4*(64*64+64) + 64*10+10
    CHECK(model.count_params() == 50240 + 4 * 4160 + 650);
    CHECK(model.count_params() == 67530);
}

TEST_CASE("summary prints Keras 3's table", "[summary]") {
    backend::clear_session();
    Sequential model;
    model.add(layers::Dense(512, {.activation = "relu", .input_shape = {784}}));
    model.add(layers::Dropout(0.2));
    model.add(layers::Dense(10, "softmax"));
    const std::string expected =
        "Model: \"sequential\"\n"
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓\n"
        "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃\n"
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩\n"
        "│ dense (Dense)                   │ (None, 512)            │       401,920 │\n"
        "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
        "│ dropout (Dropout)               │ (None, 512)            │             0 │\n"
        "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
        "│ dense_1 (Dense)                 │ (None, 10)             │         5,130 │\n"
        "└─────────────────────────────────┴────────────────────────┴───────────────┘\n"
        " Total params: 407,050 (1.55 MB)\n"
        " Trainable params: 407,050 (1.55 MB)\n"
        " Non-trainable params: 0 (0.00 B)\n";
    CHECK(model.summary_string(76) == expected);
    std::ostringstream os;
    model.summary(os, 88);
    CHECK_THAT(os.str(), Catch::Contains("┃ Layer (type)                         ┃ Output Shape"));
}

TEST_CASE("summary shows unbuilt layers and, after training, the optimizer's variables",
          "[summary]") {
    backend::clear_session();
    Sequential lazy;
    lazy.add(layers::Dense(4));
    CHECK_THAT(lazy.summary_string(76),
               Catch::Contains("│ ?    ") && Catch::Contains("0 (unbuilt) │"));

    // Keras: 34,826 params trained with Adam show "Optimizer params: 69,654 (272.09 KB)" and
    // a Total that includes them; the same rule here: 2 + 2 * params.
    Sequential m;
    m.add(layers::Dense(3, {.activation = "softmax", .input_shape = {2}}));
    m.compile("adam", "categorical_crossentropy");
    xt::xarray<float> x = xt::ones<float>({2, 2});
    xt::xarray<float> y{{1, 0, 0}, {0, 1, 0}};
    m.train_on_batch(x, y);
    auto text = m.summary_string(76);
    CHECK_THAT(
        text, Catch::Contains(" Total params: 29 (") && Catch::Contains(" Optimizer params: 20 ("));
}

TEST_CASE("summary wraps a cell too long for its column, as Keras's table does", "[summary]") {
    Sequential model;
    model.add(layers::Conv2D(32, {3, 3}, {.input_shape = {28, 28, 1}}));
    model.add(layers::BatchNormalization({.name = "batch_normalization_12"}));
    const std::string text = model.summary_string(76);
    CHECK_THAT(text, Catch::Contains("│ batch_normalization_12          │ (None, 26, 26, 32)     │"
                                     "           128 │\n"
                                     "│ (BatchNormalization)            │                        │"
                                     "               │\n"));
    // every line of the table is as wide as the rule above it
    std::istringstream lines(text);
    std::string line;
    std::getline(lines, line);  // Model: "..."
    std::size_t rows = 0;
    while (std::getline(lines, line) && line.rfind(" Total", 0) != 0) {
        CHECK(xkeras::detail::display_width(line) == 76);
        ++rows;
    }
    CHECK(rows == 8);  // 3 rules, the header, one row of one line and one of two, a separator

    using utils::wrap_cell;
    CHECK(wrap_cell("dense (Dense)", 20) == std::vector<std::string>{"dense (Dense)"});
    CHECK(wrap_cell("a_very_long_layer_name_without_spaces_at_all (Dense)", 20) ==
          std::vector<std::string>{"a_very_long_layer_na", "me_without_spaces_at", "_all (Dense)"});
    CHECK(wrap_cell("\xc3\xa9\xc3\xa9\xc3\xa9", 2) ==
          std::vector<std::string>{"\xc3\xa9\xc3\xa9", "\xc3\xa9"});
    CHECK(wrap_cell("", 5) == std::vector<std::string>{""});
}

TEST_CASE("Readable sizes and thousands separators match Keras", "[summary]") {
    CHECK(xkeras::detail::readable_memory_size(34826 * 4.0) == "136.04 KB");
    CHECK(xkeras::detail::readable_memory_size(0) == "0.00 B");
    CHECK(xkeras::detail::readable_memory_size(535818 * 4.0) == "2.04 MB");
    CHECK(xkeras::detail::thousands(1071638) == "1,071,638");
    CHECK(xkeras::detail::thousands(0) == "0");
}

TEST_CASE("The convolutional seed models count like Keras", "[summary][cnn]") {
    auto layer_table = [](Sequential& m) {
        std::vector<std::pair<shape_t, std::size_t>> rows;
        for (auto* l : m.layers()) rows.emplace_back(l->output_shape(), l->count_params());
        return rows;
    };
    SECTION("E1: 241,546") {
        Sequential m;
        seed_models::e1_cnn(m);
        CHECK(m.count_params() == 241546);
        auto rows = layer_table(m);
        CHECK(rows[0] == std::pair{shape_t{28, 28, 32}, std::size_t(320)});
        CHECK(rows[2] == std::pair{shape_t{14, 14, 64}, std::size_t(18496)});
        CHECK(rows[4] == std::pair{shape_t{7, 7, 128}, std::size_t(73856)});
        CHECK(rows[5].first == shape_t{3, 3, 128});
        CHECK(rows[6].first == shape_t{1152});
        CHECK(rows[7].second == 147584);
        CHECK(rows[9].second == 1290);
    }
    SECTION("E3: 503,762") {
        Sequential m;
        seed_models::e3_cnn(m);
        CHECK(m.count_params() == 503762);
        std::vector<std::size_t> counts;
        for (auto& r : layer_table(m)) counts.push_back(r.second);
        CHECK(counts == std::vector<std::size_t>{80, 0, 2080, 0, 8256, 0, 32896, 0, 0, 101136,
                                                 307720, 50304, 1290});
        CHECK(m.layers()[5]->output_shape() == shape_t{3, 3, 64});
        CHECK(m.layers()[7]->output_shape() == shape_t{1, 1, 128});
    }
    SECTION("E3's baseline CNN: 542,230") {
        Sequential m;
        seed_models::e3_baseline_cnn(m);
        CHECK(m.count_params() == 542230);
        CHECK(m.layers()[2]->output_shape() == shape_t{5408});
    }
    SECTION("E4: 34,826 (keras-io's mnist_convnet)") {
        Sequential m;
        seed_models::e4_cnn(m);
        CHECK(m.count_params() == 34826);
        auto rows = layer_table(m);
        CHECK(rows[0].first == shape_t{26, 26, 32});
        CHECK(rows[1].first == shape_t{13, 13, 32});
        CHECK(rows[2] == std::pair{shape_t{11, 11, 64}, std::size_t(18496)});
        CHECK(rows[3].first == shape_t{5, 5, 64});
        CHECK(rows[4].first == shape_t{1600});
        CHECK(rows[6].second == 16010);
        CHECK_THAT(m.summary_string(76), Catch::Contains(" Total params: 34,826 (136.04 KB)"));
    }
    SECTION("E5's best CNN: 362,346, 384 of them BatchNormalization's moving statistics") {
        Sequential m;
        seed_models::e5_cnn_bn(m);
        CHECK(m.count_params() == 362346);
        auto rows = layer_table(m);
        CHECK(rows[0] == std::pair{shape_t{26, 26, 32}, std::size_t(320)});
        CHECK(rows[1] == std::pair{shape_t{26, 26, 32}, std::size_t(128)});
        CHECK(rows[4].first == shape_t{12, 12, 32});
        CHECK(rows[9].first == shape_t{4, 4, 64});
        CHECK(rows[10].first == shape_t{1024});
        CHECK(rows[11].second == 262400);
        CHECK_THAT(m.summary_string(76), Catch::Contains("Non-trainable params: 384 (1.50 KB)"));
    }
}
