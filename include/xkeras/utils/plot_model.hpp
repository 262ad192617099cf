// xkeras/utils/plot_model.hpp - a drawing of the model: keras.utils.model_to_dot and
// keras.utils.plot_model, as Graphviz DOT text with one box per layer and edges in data-flow
// order.
//
//   xkeras::utils::plot_model(model, "out/model.png", {.show_shapes = true});
//     // writes out/model.dot, and out/model.png when Graphviz's `dot` is on PATH
//
// No dependency: the DOT text is written by xkeras; rendering it to PNG / SVG / PDF runs
// Graphviz's `dot` program (Debian: graphviz) when it is installed, as Keras runs it through
// pydot. Without it the DOT file is still written and the result says why there is no image.
#pragma once

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../io/atomic_file.hpp"
#include "../model.hpp"

extern char** environ;

namespace xkeras::utils {

/// keras.utils.plot_model's options, with Keras 3's defaults.
struct plot_model_options {
    /// Show each layer's input and output shapes (batch axis as None). Defaults to false.
    bool show_shapes = false;
    /// Show the layers' dtype. Defaults to false.
    bool show_dtype = false;
    /// Show the layers' names beside their class names. Defaults to false (Keras 3; tf.keras
    /// showed them by default).
    bool show_layer_names = false;
    /// Graphviz's rankdir: "TB" (top to bottom) or "LR" (left to right). Defaults to "TB".
    std::string rankdir = "TB";
    /// Accepted for Keras's signature; a Sequential model has no nested models to expand.
    bool expand_nested = false;
    /// Dots per inch of the rendered image. Defaults to 200.
    int dpi = 200;
    /// Show the activation of the layers that have one. Defaults to false.
    bool show_layer_activations = false;
    /// Show whether each layer is trainable. Defaults to false.
    bool show_trainable = false;
};

/// What plot_model wrote: the DOT file always; the image when Graphviz rendered it, otherwise
/// `note` says why not.
struct plot_model_result {
    std::filesystem::path dot_file;
    std::optional<std::filesystem::path> image;
    std::string note;
};

}  // namespace xkeras::utils

namespace xkeras::detail {

/// Escapes text for a Graphviz HTML-like label.
inline std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

/// The full path of `program` found on PATH, or nothing.
inline std::optional<std::filesystem::path> find_program(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        std::size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        std::filesystem::path candidate =
            std::filesystem::path(end > start ? dirs.substr(start, end - start) : ".") / program;
        if (::access(candidate.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(candidate))
            return candidate;
        start = end + 1;
    }
    return std::nullopt;
}

/// Runs `argv` (no shell) and returns its exit status, or -1 when it could not be started.
inline int run_program(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace xkeras::detail

namespace xkeras::utils {

/// The model as Graphviz DOT text (keras.utils.model_to_dot): one box per layer, titled with
/// its class name (and its name with show_layer_names), with the rows the options ask for; edges
/// from each layer to the next. Throws value_error for a bad rankdir or dpi, state_error when
/// shapes are asked of a model that is not built.
template <class T>
std::string model_to_dot(const basic_sequential<T>& model, const plot_model_options& o = {}) {
    if (o.rankdir != "TB" && o.rankdir != "LR")
        throw value_error(
            xkeras::detail::cat("plot_model: rankdir must be 'TB' or 'LR', got '", o.rankdir, "'"));
    if (o.dpi < 1 || o.dpi > 2400)
        throw value_error(xkeras::detail::cat("plot_model: dpi must be 1..2400, got ", o.dpi));
    if (o.show_shapes && !model.built())
        throw state_error(
            "plot_model: show_shapes needs a built model; give the first layer an input_shape or "
            "call build(input_shape) first");
    using xkeras::detail::html_escape;
    std::string dot = "digraph \"" + html_escape(model.name()) + "\" {\n";
    dot += "  graph [rankdir=" + o.rankdir + ", dpi=" + std::to_string(o.dpi) +
           ", nodesep=0.3, ranksep=0.35, fontname=\"DejaVu Sans\"];\n";
    dot += "  node [shape=plaintext, fontname=\"DejaVu Sans\", fontsize=11];\n";
    dot += "  edge [arrowsize=0.7];\n";
    const auto layers = model.layers();
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const auto& l = *layers[i];
        const int columns = o.show_shapes ? 2 : 1;
        const std::string span = " colspan=\"" + std::to_string(columns) + "\"";
        std::string title = o.show_layer_names ? "<b>" + html_escape(l.name()) + "</b> (" +
                                                     html_escape(l.class_name()) + ")"
                                               : "<b>" + html_escape(l.class_name()) + "</b>";
        std::string label =
            "<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\" cellpadding=\"5\">";
        label += "<tr><td" + span + " bgcolor=\"#d7e6f5\">" + title + "</td></tr>";
        if (o.show_shapes)
            label += "<tr><td>Input shape: " + html_escape(shape_str(l.input_shape(), true)) +
                     "</td><td>Output shape: " + html_escape(shape_str(l.output_shape(), true)) +
                     "</td></tr>";
        if (o.show_dtype)
            label += "<tr><td" + span + ">dtype: " + (sizeof(T) == 8 ? "float64" : "float32") +
                     "</td></tr>";
        if (o.show_layer_activations) {
            const auto cfg = l.get_config();
            if (cfg.contains("activation") && cfg["activation"].is_string())
                label += "<tr><td" + span + ">Activation: " +
                         html_escape(cfg["activation"].template get<std::string>()) + "</td></tr>";
        }
        if (o.show_trainable)
            label +=
                "<tr><td" + span + ">Trainable: " + (l.trainable ? "True" : "False") + "</td></tr>";
        label += "</table>>";
        dot += "  layer_" + std::to_string(i) + " [label=" + label + "];\n";
    }
    for (std::size_t i = 0; i + 1 < layers.size(); ++i)
        dot += "  layer_" + std::to_string(i) + " -> layer_" + std::to_string(i + 1) + ";\n";
    dot += "}\n";
    return dot;
}

/// keras.utils.plot_model: writes the model's DOT text (model_to_dot) next to `to_file` (same
/// name, extension .dot) and, when `to_file` asks for an image (.png, .svg, .pdf, .jpg) and
/// Graphviz's `dot` is on PATH, renders it there. Both files are replaced atomically. Defaults to
/// "model.png". Throws value_error for an unknown extension, io_error when a file cannot be
/// written or `dot` fails on the text.
template <class T>
plot_model_result plot_model(const basic_sequential<T>& model,
                             const std::filesystem::path& to_file = "model.png",
                             const plot_model_options& o = {}) {
    namespace fs = std::filesystem;
    std::string ext = to_file.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool dot_only = ext == ".dot" || ext == ".gv";
    const std::vector<std::string> images{".png", ".svg", ".pdf", ".jpg", ".jpeg"};
    if (!dot_only && std::find(images.begin(), images.end(), ext) == images.end())
        throw value_error(
            xkeras::detail::cat("plot_model: cannot tell the format of '", to_file.string(),
                                "'; expected .png, .svg, .pdf, .jpg or .dot, got '",
                                ext.empty() ? std::string("no extension") : ext, "'"));
    const std::string dot = model_to_dot(model, o);
    if (to_file.has_parent_path()) fs::create_directories(to_file.parent_path());
    plot_model_result r;
    r.dot_file = dot_only ? to_file : fs::path(to_file).replace_extension(".dot");
    io::atomic_write(r.dot_file, dot);
    if (dot_only) return r;
    const auto program = xkeras::detail::find_program("dot");
    if (!program) {
        r.note = "Graphviz's 'dot' is not on PATH, so only " + r.dot_file.string() +
                 " was written (install graphviz to get " + to_file.string() + ")";
        return r;
    }
    // render to a temporary file beside the target, then rename: never a half-written image
    std::string tmp_name = ".";
    tmp_name += to_file.filename().string();
    tmp_name += ".tmp";
    const fs::path tmp = to_file.parent_path() / tmp_name;
    const int status = xkeras::detail::run_program(
        {program->string(), "-T" + ext.substr(1), r.dot_file.string(), "-o", tmp.string()});
    if (status != 0) {
        std::error_code ec;
        fs::remove(tmp, ec);
        throw io_error(xkeras::detail::cat(
            "plot_model: '", program->string(), "' failed (",
            status < 0 ? std::string("could not start") : "exit status " + std::to_string(status),
            ") rendering ", r.dot_file.string(), " to ", to_file.string()));
    }
    fs::rename(tmp, to_file);
    r.image = to_file;
    return r;
}

}  // namespace xkeras::utils
