// plot_history: the accuracy / loss curves of a finished run, from the result.json or
// history.csv an example wrote (or any Keras-style history: JSON {"history": {key: [...]}} or
// {key: [...]}, CSV with an epoch column and one column per key).
//
//   plot_history out/mnist_cnn/history.csv -o curves.svg [--accuracy-title ...] [--grid]
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include <xkeras/plot.hpp>

namespace {

using history_map = std::map<std::string, std::vector<double>>;

history_map read_json(const std::string& path, std::istream& in) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        throw xkeras::io_error("'" + path + "' is not valid JSON: " + e.what());
    }
    if (j.is_object() && j.contains("history")) j = j["history"];
    if (!j.is_object())
        throw xkeras::io_error("'" + path + "': expected an object of per-epoch lists");
    history_map h;
    for (const auto& [key, values] : j.items()) {
        if (!values.is_array()) continue;
        for (const auto& v : values) h[key].push_back(v.is_number() ? v.get<double>() : NAN);
    }
    return h;
}

history_map read_csv(const std::string& path, std::istream& in) {
    std::string line;
    std::vector<std::string> keys;
    if (!std::getline(in, line)) throw xkeras::io_error("'" + path + "' is empty");
    for (std::stringstream ss(line); std::getline(ss, line, ',');) keys.push_back(line);
    history_map h;
    for (int row = 2; std::getline(in, line); ++row) {
        if (line.empty()) continue;
        std::stringstream ss(line);
        std::string cell;
        for (std::size_t k = 0; k < keys.size(); ++k) {
            if (!std::getline(ss, cell, ','))
                throw xkeras::io_error("'" + path + "' line " + std::to_string(row) +
                                       ": expected " + std::to_string(keys.size()) + " values");
            if (keys[k] == "epoch") continue;
            try {
                h[keys[k]].push_back(std::stod(cell));
            } catch (const std::exception&) {
                throw xkeras::io_error("'" + path + "' line " + std::to_string(row) + ": '" + cell +
                                       "' is not a number");
            }
        }
    }
    return h;
}

}  // namespace

int main(int argc, char** argv) {
    std::string input, output = "curves.png";
    xkeras::plot::curves_options o;
    CLI::App app{"Draw the accuracy / loss curves of a run from its result.json or history.csv",
                 "plot_history"};
    app.add_option("history", input, "result.json, history.csv or a Keras history JSON")
        ->required()
        ->check(CLI::ExistingFile);
    app.add_option("-o,--output", output, "Picture to write (.png or .svg)")->capture_default_str();
    app.add_option("--accuracy-title", o.accuracy_title)->capture_default_str();
    app.add_option("--loss-title", o.loss_title)->capture_default_str();
    app.add_option("--xlabel", o.xlabel)->capture_default_str();
    app.add_option("--train-label", o.train_label)->capture_default_str();
    app.add_option("--validation-label", o.validation_label)->capture_default_str();
    app.add_option("--accuracy-key", o.accuracy_key, "Default: the first accuracy key found");
    app.add_flag("--grid", o.grid, "Grid lines at the ticks");
    CLI11_PARSE(app, argc, argv);
    try {
        std::ifstream in(input);
        if (!in) throw xkeras::io_error("cannot open '" + input + "'");
        const bool csv = std::filesystem::path(input).extension() == ".csv";
        const auto history = csv ? read_csv(input, in) : read_json(input, in);
        xkeras::plot::training_curves(history, output, o);
        std::cout << "Wrote " << output << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
