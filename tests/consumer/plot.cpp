// A consumer of the optional xkeras::plot target: draws training curves to the file given.
#include <xkeras/plot.hpp>

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    xkeras::plot::training_curves({{"loss", {1.0, 0.5, 0.25}}, {"val_loss", {1.1, 0.6, 0.4}}},
                                  argv[1]);
    std::cout << "wrote " << argv[1] << "\n";
}
