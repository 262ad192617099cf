// xkeras/layers/pooling2d.hpp - MaxPooling2D (alias MaxPool2D) and AveragePooling2D
// (alias AvgPool2D) over NHWC inputs.
//
// pool_size defaults to (2, 2) for MaxPooling2D (AveragePooling2D requires it, as Keras 3),
// strides to the pool size, padding to "valid" (floor). With "same" padding, max ignores the
// padded cells and average divides by the number of real cells, as Keras. Output
// (batch, OH, OW, C); no weights.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "../backend/parallel.hpp"
#include "../backend/simd.hpp"
#include "conv_utils.hpp"
#include "layer.hpp"

namespace xkeras::layers {

struct Pooling2DOptions {
    std::optional<size2> strides{};  ///< Defaults to the pool size.
    std::string padding = "valid";   ///< "valid" or "same" (case-insensitive).
    shape_t input_shape{};           ///< Keras's `input_shape=`, for a first layer.
    std::string name{};              ///< Defaults to "max_pooling2d" / "average_pooling2d", ...
};

namespace detail {

/// What MaxPooling2D and AveragePooling2D share: geometry, options, batch-parallel loops.
template <class T>
class pooling2d_base : public Layer<T> {
  public:
    size2 pool_size() const { return pool_; }
    size2 strides() const { return strides_; }
    const std::string& padding() const { return padding_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        auto g = geometry(in);
        return {g.out_h, g.out_w, g.channels};
    }

    /// For the layer before it, which may pool its own output while it computes it
    /// (Conv2D::forward_fused, at inference): whether output rows [oh0, oh1) read input rows
    /// [oh0 * s_h, oh1 * s_h) only, so that bands of rows can be pooled by the thread that
    /// computed them: no padding, every window inside the input, none taller than the stride.
    bool pools_in_row_bands() const { return this->built_ && windows_inside() && g_.k_h <= g_.s_h; }
    /// Whether, besides, output pixel (oh, ow) reads only the input's m x m tile (oh, ow) (both
    /// strides m, windows no larger), so that the tiles' owners can pool them.
    bool pools_in_tiles(std::size_t m) const {
        return pools_in_row_bands() && g_.s_h == m && g_.s_w == m && g_.k_w <= m;
    }
    /// Starts such a fused pass over the batch x (the layer before's output, not yet computed):
    /// checks its shape and sizes the output, which pool_input_rows or pool_input_tiles fill.
    void begin_fused(const tensor<T>& x) {
        this->check_input(x);
        this->ensure_shape(y_, {x.shape()[0], g_.out_h, g_.out_w, g_.channels});
        x_ = nullptr;  // inference: no backward from here
    }
    /// Pools, of image i of x, channels [c0, c1), the output rows whose windows lie in input
    /// rows [r0, r1): r0 a multiple of the stride, r1 too or the input's height
    /// (pools_in_row_bands).
    void pool_input_rows(const tensor<T>& x, std::size_t i, std::size_t r0, std::size_t r1,
                         std::size_t c0, std::size_t c1) {
        if (r0 >= r1) return;
        const std::size_t q1 = (r1 == g_.in_h ? g_.out_h : r1 / g_.s_h) * g_.out_w;
        pool_part(x, i, r0 / g_.s_h * g_.out_w, q1, c0, c1);
    }
    /// Pools, of image i of x, the output pixels of input tiles [t0, t1), m x m each in rows of
    /// `cols` (pools_in_tiles(m)): tile (y, x) is output pixel (y, x), or none for the last
    /// tile of a row or the last row of tiles when the windows leave it out (a row of tiles
    /// holds at most one more than a row of the output, and so do the columns).
    void pool_input_tiles(const tensor<T>& x, std::size_t i, std::size_t t0, std::size_t t1,
                          std::size_t cols) {
        auto first = [&](std::size_t t) {  // the first output pixel from tile t on
            return std::min(t / cols * g_.out_w + t % cols, g_.out_h * g_.out_w);
        };
        if (first(t0) < first(t1)) pool_part(x, i, first(t0), first(t1), 0, g_.channels);
    }
    /// The output of the last forward or fused pass.
    const tensor<T>& output() const { return y_; }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["pool_size"] = {pool_.h, pool_.w};
        c["padding"] = padding_;
        c["strides"] = {strides_.h, strides_.w};
        c["data_format"] = "channels_last";
        return c;
    }

    /// The layer L from a Keras config (pool_size required for AveragePooling2D, as Keras 3).
    template <class L>
    static std::unique_ptr<Layer<T>> pooling_from_config(const nlohmann::json& cfg, const char* cls,
                                                         std::vector<int> default_pool) {
        config::reader r(cfg, cls);
        auto pool = r.get_pair("pool_size", default_pool);
        if (pool.empty())
            throw value_error(std::string(cls) + " '" + r.name() +
                              "': config key 'pool_size' is missing");
        Pooling2DOptions o;
        o.name = r.name();
        auto s = r.get_pair("strides", {});
        if (!s.empty()) o.strides = size2(s[0], s[1]);
        o.padding = r.get("padding", std::string("valid"));
        r.expect("data_format", "channels_last");
        r.finish();
        auto layer = std::make_unique<L>(size2(pool[0], pool[1]), std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    pooling2d_base(const char* prefix, const char* cls, size2 pool, Pooling2DOptions o)
        : Layer<T>(prefix, o.name, o.input_shape),
          pool_(pool),
          strides_(o.strides.value_or(pool)),
          padding_(padding_mode(o.padding, cls)),
          cls_(cls) {}

    void build_weights(const shape_t& in) override { g_ = geometry(in); }

    window2d geometry(const shape_t& in) const {
        return window2d::make(in, pool_, strides_, 1, padding_ == "same",
                              xkeras::detail::cat("layer '", this->name(), "' (", cls_, ")"));
    }

    /// Output pixels [q0, q1) (in row-major order), channels [c0, c1) of image i of x, as
    /// forward computes them.
    virtual void pool_part(const tensor<T>& x, std::size_t i, std::size_t q0, std::size_t q1,
                           std::size_t c0, std::size_t c1) = 0;

    /// Every window inside the input ("valid", or "same" that needs no padding): no clipping.
    bool windows_inside() const {
        return g_.pad_top == 0 && g_.pad_left == 0 && (g_.out_h - 1) * g_.s_h + g_.k_h <= g_.in_h &&
               (g_.out_w - 1) * g_.s_w + g_.k_w <= g_.in_w;
    }

    std::size_t in_image() const { return g_.in_h * g_.in_w * g_.channels; }
    std::size_t out_image() const { return g_.out_h * g_.out_w * g_.channels; }

    /// Runs f(first image, count) over the batch in tasks of about 64 KiB of input.
    template <class F>
    void for_images(std::size_t n, F&& f) const {
        const std::size_t per =
            std::max<std::size_t>(1, (std::size_t(1) << 16) / (in_image() * sizeof(T) + 1));
        backend::parallel_for((n + per - 1) / per, [&](std::size_t t, int) {
            const std::size_t n0 = t * per;
            f(n0, std::min(per, n - n0));
        });
    }

    /// The window of output (oh, ow), clipped to the input: rows [h0, h1), columns [w0, w1).
    void window(std::size_t oh, std::size_t ow, std::size_t& h0, std::size_t& h1, std::size_t& w0,
                std::size_t& w1) const {
        const long top = long(oh * g_.s_h) - long(g_.pad_top);
        const long left = long(ow * g_.s_w) - long(g_.pad_left);
        h0 = std::size_t(std::max(0L, top));
        w0 = std::size_t(std::max(0L, left));
        h1 = std::size_t(std::min(long(g_.in_h), top + long(g_.k_h)));
        w1 = std::size_t(std::min(long(g_.in_w), left + long(g_.k_w)));
    }

    size2 pool_, strides_;
    std::string padding_;
    const char* cls_;
    window2d g_;
    tensor<T> y_, dx_;
    const tensor<T>* x_ = nullptr;  ///< the input of the last training forward
};

}  // namespace detail

/// `MaxPooling2D()` (2x2), `MaxPooling2D({3, 3}, {.strides = 2})`.
template <class T = float>
class MaxPooling2D : public detail::pooling2d_base<T> {
  public:
    explicit MaxPooling2D(size2 pool_size = {2, 2}, Pooling2DOptions o = {})
        : detail::pooling2d_base<T>("max_pooling2d", "MaxPooling2D", pool_size, std::move(o)) {}

    std::string class_name() const override { return "MaxPooling2D"; }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        return detail::pooling2d_base<T>::template pooling_from_config<MaxPooling2D<T>>(
            cfg, "MaxPooling2D", {2, 2});
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const std::size_t n = x.shape()[0], C = this->g_.channels;
        this->ensure_shape(this->y_, {n, this->g_.out_h, this->g_.out_w, C});
        const auto& g = this->g_;
        // A batch smaller than the pool (batch-1 inference) shares each image's rows out over
        // the threads, from 4,096 input values on and where a convolution before it shares its
        // output by pixels (past max_pixels_split_by_filters, conv_utils.hpp): each thread reads
        // the rows it wrote there, where one thread alone would pull the others' halves across from
        // their cores. (A smaller image, which the convolution shares by filters, stays whole:
        // splitting its channels the same way was measured 1 us slower at batch 1 on E1.) In a
        // model's inference such a convolution pools its own output (Conv2D::forward_fused).
        const std::size_t threads = std::size_t(backend::pool_size());
        if (n < threads && this->in_image() >= 4096 &&
            g.in_h * g.in_w > detail::max_pixels_split_by_filters && g.out_h >= threads) {
            for (std::size_t i = 0; i < n; ++i)
                backend::parallel_for(threads, [&](std::size_t t, int) {
                    pool_part(x, i, g.out_h * t / threads * g.out_w,
                              g.out_h * (t + 1) / threads * g.out_w, 0, C);
                });
        } else {
            this->for_images(n, [&](std::size_t n0, std::size_t cnt) {
                for (std::size_t i = n0; i < n0 + cnt; ++i)
                    pool_part(x, i, 0, g.out_h * g.out_w, 0, C);
            });
        }
        this->x_ = training ? &x : nullptr;
        return this->y_;
    }

  protected:
    /// Forward keeps no argmax: the maxima are found again in backward, from x and y. That keeps
    /// the forward loop a plain vectorised max (inference pays nothing for training).
    void pool_part(const tensor<T>& x, std::size_t i, std::size_t q0, std::size_t q1,
                   std::size_t c0, std::size_t c1) override {
        const auto& g = this->g_;
        const std::size_t C = g.channels;
        const bool inside = this->windows_inside();
        const T* src = x.data() + i * this->in_image() + c0;
        T* dst = this->y_.data() + i * this->out_image() + q0 * C + c0;
        // pixel q is (oh, ow)
        for (std::size_t q = q0, oh = q0 / g.out_w, ow = q0 % g.out_w; q < q1; ++q, dst += C) {
            if (inside) {
                window_max(src + (oh * g.s_h * g.in_w + ow * g.s_w) * C, dst, c1 - c0);
            } else {
                std::size_t h0, h1, w0, w1;
                this->window(oh, ow, h0, h1, w0, w1);
                const T* s = src + (h0 * g.in_w + w0) * C;
                for (std::size_t c = 0; c < c1 - c0; ++c) dst[c] = s[c];
                for (std::size_t h = h0; h < h1; ++h)
                    for (std::size_t w = (h == h0 ? w0 + 1 : w0); w < w1; ++w) {
                        s = src + (h * g.in_w + w) * C;
                        for (std::size_t c = 0; c < c1 - c0; ++c)
                            dst[c] = s[c] > dst[c] ? s[c] : dst[c];
                    }
            }
            if (++ow == g.out_w) {
                ow = 0;
                ++oh;
            }
        }
    }

  public:
    /// Routes each output gradient to the first input of its window (in row-major order) that
    /// equals the window's maximum, as TensorFlow's max-pool gradient does; needs the input of
    /// the last training forward, which the layer before keeps unchanged until its next forward.
    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(this->x_ != nullptr);
        if (!need_input_grad) return this->dx_;
        const std::size_t n = dy.shape()[0], C = this->g_.channels;
        this->ensure_shape(this->dx_, this->batched(n, this->input_shape_));
        const bool disjoint = this->g_.s_h >= this->g_.k_h && this->g_.s_w >= this->g_.k_w &&
                              this->g_.pad_top == 0 && this->g_.pad_left == 0;
        this->for_images(n, [&](std::size_t n0, std::size_t cnt) {
            T* dx = this->dx_.data() + n0 * this->in_image();
            if (!disjoint) std::fill(dx, dx + cnt * this->in_image(), T(0));
            std::vector<T> open(C);  // per channel: 1 until the window's maximum is found
            for (std::size_t i = n0; i < n0 + cnt; ++i, dx += this->in_image()) {
                const T* src = this->x_->data() + i * this->in_image();
                const T* y = this->y_.data() + i * this->out_image();
                const T* d = dy.data() + i * this->out_image();
                if (disjoint) clear_uncovered(dx);
                for (std::size_t oh = 0; oh < this->g_.out_h; ++oh)
                    for (std::size_t ow = 0; ow < this->g_.out_w; ++ow, y += C, d += C) {
                        std::size_t h0, h1, w0, w1;
                        this->window(oh, ow, h0, h1, w0, w1);
                        std::fill(open.begin(), open.end(), T(1));
                        T* is_open = open.data();
                        for (std::size_t h = h0; h < h1; ++h)
                            for (std::size_t w = w0; w < w1; ++w) {
                                const std::size_t off = (h * this->g_.in_w + w) * C;
                                const T* s = src + off;
                                T* o = dx + off;
                                // written so that it vectorises: masks as T, selects, no
                                // branch;
                                // `&`, not `&&`, so that every load is unconditional (GCC makes
                                // a conditional load a masked one, which is slow on AMD)
                                if (disjoint)
                                    for (std::size_t c = 0; c < C; ++c) {
                                        const bool here = (is_open[c] != T(0)) & (s[c] == y[c]);
                                        const T g = d[c];
                                        o[c] = here ? g : T(0);
                                        is_open[c] = here ? T(0) : is_open[c];
                                    }
                                else
                                    for (std::size_t c = 0; c < C; ++c) {
                                        const bool here = (is_open[c] != T(0)) & (s[c] == y[c]);
                                        const T g = d[c];
                                        o[c] += here ? g : T(0);
                                        is_open[c] = here ? T(0) : is_open[c];
                                    }
                            }
                    }
            }
        });
        return this->dx_;
    }

  private:
    /// dst[0, count) = the channel-wise maximum of the window whose first cell is s (channels
    /// s[0, count) of it), all of it inside the input. A vector of channels takes the maximum
    /// over the whole window in a register, then is stored once: storing after each cell and
    /// loading it back for the next stalled on every cell (store forwarding fails for a store
    /// that straddles two cache lines), 3 us for E1's first pooling at batch 1.
    void window_max(const T* s, T* dst, std::size_t count) const {
        using S = backend::wide<T>;
        using vec = typename S::vec;
        const auto& g = this->g_;
        const std::size_t C = g.channels, row = g.in_w * C;
        std::size_t c = 0;
        if (g.k_h == 2 && g.k_w == 2)  // the usual window, unrolled
            for (; c + S::lanes <= count; c += S::lanes) {
                vec a, b, d, e;
                S::load(a, s + c);
                S::load(b, s + C + c);
                S::load(d, s + row + c);
                S::load(e, s + row + C + c);
                a = b > a ? b : a;
                d = e > d ? e : d;
                a = d > a ? d : a;
                S::store(dst + c, a);
            }
        for (; c + S::lanes <= count; c += S::lanes) {
            vec m, v;
            S::load(m, s + c);
            for (std::size_t h = 0; h < g.k_h; ++h)
                for (std::size_t w = h == 0 ? 1 : 0; w < g.k_w; ++w) {
                    S::load(v, s + h * row + w * C + c);
                    m = v > m ? v : m;
                }
            S::store(dst + c, m);
        }
        for (; c < count; ++c) {
            T m = s[c];
            for (std::size_t h = 0; h < g.k_h; ++h)
                for (std::size_t w = h == 0 ? 1 : 0; w < g.k_w; ++w) {
                    const T v = s[h * row + w * C + c];
                    m = v > m ? v : m;
                }
            dst[c] = m;
        }
    }

    /// With disjoint windows every covered cell is written once; zero the others (the rows and
    /// columns beyond the last window).
    void clear_uncovered(T* dx) const {
        const auto& g = this->g_;
        const std::size_t C = g.channels, rows = g.out_h * g.s_h, cols = g.out_w * g.s_w;
        for (std::size_t h = 0; h < g.in_h; ++h)
            for (std::size_t w = 0; w < g.in_w; ++w) {
                const bool covered = h < rows && w < cols && h % g.s_h < g.k_h && w % g.s_w < g.k_w;
                if (!covered) std::fill_n(dx + (h * g.in_w + w) * C, C, T(0));
            }
    }
};

/// Keras's alias.
template <class T = float>
using MaxPool2D = MaxPooling2D<T>;

/// `AveragePooling2D({2, 2})`.
template <class T = float>
class AveragePooling2D : public detail::pooling2d_base<T> {
  public:
    explicit AveragePooling2D(size2 pool_size, Pooling2DOptions o = {})
        : detail::pooling2d_base<T>("average_pooling2d", "AveragePooling2D", pool_size,
                                    std::move(o)) {}

    std::string class_name() const override { return "AveragePooling2D"; }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        return detail::pooling2d_base<T>::template pooling_from_config<AveragePooling2D<T>>(
            cfg, "AveragePooling2D", {});
    }

    const tensor<T>& forward(const tensor<T>& x, bool /*training*/) override {
        this->check_input(x);
        const std::size_t n = x.shape()[0], C = this->g_.channels;
        this->ensure_shape(this->y_, {n, this->g_.out_h, this->g_.out_w, C});
        this->for_images(n, [&](std::size_t n0, std::size_t cnt) {
            for (std::size_t i = n0; i < n0 + cnt; ++i)
                pool_part(x, i, 0, this->g_.out_h * this->g_.out_w, 0, C);
        });
        return this->y_;
    }

  protected:
    void pool_part(const tensor<T>& x, std::size_t i, std::size_t q0, std::size_t q1,
                   std::size_t c0, std::size_t c1) override {
        const auto& g = this->g_;
        const std::size_t C = g.channels;
        const T* src = x.data() + i * this->in_image() + c0;
        T* dst = this->y_.data() + i * this->out_image() + q0 * C + c0;
        // pixel q is (oh, ow)
        for (std::size_t q = q0, oh = q0 / g.out_w, ow = q0 % g.out_w; q < q1; ++q, dst += C) {
            std::size_t h0, h1, w0, w1;
            this->window(oh, ow, h0, h1, w0, w1);
            std::fill(dst, dst + (c1 - c0), T(0));
            for (std::size_t h = h0; h < h1; ++h)
                for (std::size_t w = w0; w < w1; ++w) {
                    const T* s = src + (h * g.in_w + w) * C;
                    for (std::size_t c = 0; c < c1 - c0; ++c) dst[c] += s[c];
                }
            const T inv = T(1) / T((h1 - h0) * (w1 - w0));
            for (std::size_t c = 0; c < c1 - c0; ++c) dst[c] *= inv;
            if (++ow == g.out_w) {
                ow = 0;
                ++oh;
            }
        }
    }

  public:
    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (!need_input_grad) return this->dx_;
        const std::size_t n = dy.shape()[0], C = this->g_.channels;
        this->ensure_shape(this->dx_, this->batched(n, this->input_shape_));
        this->for_images(n, [&](std::size_t n0, std::size_t cnt) {
            T* dx = this->dx_.data() + n0 * this->in_image();
            std::fill(dx, dx + cnt * this->in_image(), T(0));
            for (std::size_t i = n0; i < n0 + cnt; ++i, dx += this->in_image()) {
                const T* d = dy.data() + i * this->out_image();
                for (std::size_t oh = 0; oh < this->g_.out_h; ++oh)
                    for (std::size_t ow = 0; ow < this->g_.out_w; ++ow, d += C) {
                        std::size_t h0, h1, w0, w1;
                        this->window(oh, ow, h0, h1, w0, w1);
                        const T inv = T(1) / T((h1 - h0) * (w1 - w0));
                        for (std::size_t h = h0; h < h1; ++h)
                            for (std::size_t w = w0; w < w1; ++w) {
                                T* o = dx + (h * this->g_.in_w + w) * C;
                                for (std::size_t c = 0; c < C; ++c) o[c] += d[c] * inv;
                            }
                    }
            }
        });
        return this->dx_;
    }
};

/// Keras's alias.
template <class T = float>
using AvgPool2D = AveragePooling2D<T>;

}  // namespace xkeras::layers
