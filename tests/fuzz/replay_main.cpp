// tests/fuzz/replay_main.cpp - the fuzz targets in the ordinary test build (GCC, no libFuzzer):
// all of them in one program (all_targets.hpp: one translation unit, the library compiled once),
// each run on the files given. CTest runs it on every target's seed corpus and regression inputs
// (tests/fuzz/CMakeLists.txt), so that a crash once found and fixed stays fixed.
//   xkeras_fuzz_replay <target> <file or directory>...   (target: idx, model_file, ...)
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include "all_targets.hpp"

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    const auto& targets = fuzz::targets();
    if (argc < 3 || !targets.count(argv[1])) {
        std::cerr << "usage: xkeras_fuzz_replay <target> <file or directory>...\n  targets: "
                  << fuzz::target_names() << "\n";
        return 2;
    }
    const auto run = targets.at(argv[1]);
    std::vector<fs::path> files;
    for (int i = 2; i < argc; ++i) {
        if (fs::is_directory(argv[i])) {
            for (const auto& e : fs::directory_iterator(argv[i]))
                if (e.is_regular_file() && e.path().filename() != "README.md")
                    files.push_back(e.path());
        } else if (fs::is_regular_file(argv[i])) {
            files.push_back(argv[i]);
        } else {
            std::cerr << "xkeras_fuzz_replay: '" << argv[i] << "' does not exist\n";
            return 2;
        }
    }
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        const std::string bytes{std::istreambuf_iterator<char>(in),
                                std::istreambuf_iterator<char>()};
        run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
    std::cout << "xkeras_fuzz_replay " << argv[1] << ": " << files.size() << " inputs, no crash\n";
    return 0;
}
