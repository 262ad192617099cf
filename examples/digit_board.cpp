// digit_board: E4's drawing application (seed 003) as a page served on localhost. Draw a digit
// with the mouse or a finger; when the stroke ends the saved model names it, as the document's
// pygame "Digit Board" does, with the same preprocessing (the drawing's bounding box + 5 px,
// resized to 28x28, padded by 10 px, resized to 28x28, / 255). "Clear" or the n key starts again.
//
//   digit_board --model out/mnist_cnn_earlystop/best.keras [--host 127.0.0.1] [--port 8080]
//   then open http://127.0.0.1:8080/
//
// --port 0 picks a free port; the first line printed names the address. The HTTP server is
// cpp-httplib (Debian's libcpp-httplib-dev) behind http_guard.hpp's limits on connections; the
// page is plain HTML/JS (digit_board_page.hpp). It listens on 127.0.0.1 unless told otherwise:
// docs/security.md says what changes when it is exposed.
#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>

#include <xkeras/keras_files.hpp>

#include "digit_board.hpp"

namespace {
http_guard::server* running = nullptr;
void stop(int) {
    if (running) running->stop();
}
}  // namespace

int main(int argc, char** argv) {
    std::string model_path, host = "127.0.0.1";
    int port = 8080, threads = 1;
    std::string preprocess = "document";
    http_guard::connection_limits connections;
    CLI::App app{"Draw digits in the browser and let a saved xkeras model name them (E4's app)",
                 "digit_board"};
    app.add_option(
           "--model", model_path,
           "A model saved by model.save, .xk or .keras (e.g. out/mnist_cnn_earlystop/best.keras)")
        ->required()
        ->check(CLI::ExistingFile);
    app.add_option("--host", host, "Address to listen on")->capture_default_str();
    app.add_option("--port", port, "Port to listen on (0: any free port)")
        ->capture_default_str()
        ->check(CLI::Range(0, 65535));
    app.add_option("--threads", threads, "Threads for the model")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--preprocess", preprocess,
                   "document: the document's (box + 5 px, resize, pad 10 px, resize); mnist: "
                   "MNIST's own (aspect kept, 20x20, centre of mass), as predict_digit")
        ->capture_default_str()
        ->check(CLI::IsMember({"document", "mnist"}));
    app.add_option("--max-connections", connections.max_connections,
                   "Connections served at once, one thread each; beyond: 503")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--max-connections-per-client", connections.max_connections_per_client,
                   "Connections one address may hold at once; beyond: 429. Behind a reverse "
                   "proxy every client has the proxy's address: raise it there")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    CLI11_PARSE(app, argc, argv);
    try {
        xkeras::set_num_threads(threads);
        auto model = xkeras::load_model(model_path);
        std::mutex model_mutex;
        http_guard::server server(connections);
        digit_board::install(server, model, model_mutex,
                             preprocess == "mnist" ? digit_board::preprocessing::mnist
                                                   : digit_board::preprocessing::document);
        const int bound = port == 0 ? server.bind_to_any_port(host.c_str())
                                    : (server.bind_to_port(host.c_str(), port) ? port : -1);
        if (bound < 0) {
            std::cerr << "error: cannot listen on " << host << ":" << port << "\n";
            return 1;
        }
        port = bound;
        std::cout << "Serving the digit board on http://" << host << ":" << port << "/ (model "
                  << model_path << ", " << preprocess << " preprocessing); Ctrl-C stops"
                  << std::endl;
        running = &server;
        std::signal(SIGINT, stop);
        std::signal(SIGTERM, stop);
        server.listen_after_bind();
        std::cout << "Stopped." << std::endl;
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
