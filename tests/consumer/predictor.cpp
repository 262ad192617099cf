// Loads the XOR model main.cpp saved and predicts with the inference-only library
// (xkeras::predictor): the header alone, no xtensor, and the model's answers.
#include <xkeras/predictor.hpp>

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: consumer_predictor model.xk\n";
        return 2;
    }
    const xkeras::Predictor model(argv[1]);
    const float x[] = {0, 0, 0, 1, 1, 0, 1, 1};
    const auto p = model.predict(x, 4);
    int right = 0;
    for (int i = 0; i < 4; ++i) right += (p[std::size_t(i)] > 0.5f) == (i == 1 || i == 2);
    std::cout << "consumer_predictor: " << right << " of 4 XOR cases right\n";
    return right == 4 ? 0 : 1;
}
