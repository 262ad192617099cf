// xkeras/utils/confusion_matrix.hpp - counts of true class against predicted class, like
// tf.math.confusion_matrix.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "../config.hpp"
#include "../tensor.hpp"

namespace xkeras::detail {

/// Class indices of `x`: a vector of labels as they are, or per row the index of the largest
/// value of a (N, C) matrix of one-hot labels or probabilities.
template <class E>
std::vector<std::size_t> class_indices(const E& expr, const char* what) {
    const xt::xarray<double> x = xt::cast<double>(xt::eval(expr));
    std::vector<std::size_t> out;
    if (x.dimension() == 1 || (x.dimension() == 2 && x.shape()[1] == 1)) {
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double v = x.data()[i];
            if (!(v >= 0) || v != std::floor(v))
                throw value_error(cat("confusion_matrix: ", what, "[", i, "] is ", v,
                                      ", expected a non-negative integer"));
            out.push_back(std::size_t(v));
        }
        return out;
    }
    if (x.dimension() != 2 || x.shape()[1] == 0)
        throw shape_error(cat("confusion_matrix: expected ", what,
                              " as class labels (N) or one-hot / probabilities (N, C), got shape ",
                              shape_str(shape_of(x))));
    const std::size_t c = x.shape()[1];
    for (std::size_t i = 0; i < x.shape()[0]; ++i) {
        const double* row = x.data() + i * c;
        out.push_back(std::size_t(std::max_element(row, row + c) - row));
    }
    return out;
}

}  // namespace xkeras::detail

namespace xkeras::utils {

/// The (num_classes, num_classes) matrix whose entry (i, j) counts the samples of true class i
/// predicted as class j. `y_true` and `y_pred` are class labels (shape (N)) or one-hot labels /
/// probabilities (shape (N, C), reduced by argmax per row). `num_classes` 0 means one more than
/// the largest class seen (and C for (N, C) inputs). Throws shape_error when the lengths differ
/// and value_error for a class outside 0..num_classes-1.
template <class E1, class E2>
xt::xarray<std::size_t> confusion_matrix(const E1& y_true, const E2& y_pred,
                                         std::size_t num_classes = 0) {
    const auto t = xkeras::detail::class_indices(y_true, "y_true");
    const auto p = xkeras::detail::class_indices(y_pred, "y_pred");
    if (t.size() != p.size())
        throw shape_error(xkeras::detail::cat("confusion_matrix: y_true has ", t.size(),
                                              " samples and y_pred ", p.size(),
                                              "; expected the same number"));
    if (num_classes == 0) {
        for (auto v : t) num_classes = std::max(num_classes, v + 1);
        for (auto v : p) num_classes = std::max(num_classes, v + 1);
        auto width = [](const auto& e) {
            const auto x = xt::eval(e);
            return x.dimension() == 2 && x.shape()[1] > 1 ? std::size_t(x.shape()[1]) : 0;
        };
        num_classes = std::max({num_classes, width(y_true), width(y_pred)});
    }
    xt::xarray<std::size_t> m = xt::zeros<std::size_t>({num_classes, num_classes});
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t[i] >= num_classes || p[i] >= num_classes)
            throw value_error(xkeras::detail::cat("confusion_matrix: sample ", i,
                                                  " has true class ", t[i], " and predicted class ",
                                                  p[i], "; expected classes 0..", num_classes - 1));
        ++m(t[i], p[i]);
    }
    return m;
}

}  // namespace xkeras::utils
