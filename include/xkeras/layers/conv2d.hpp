// xkeras/layers/conv2d.hpp - Conv2D: 2-D convolution (cross-correlation) over NHWC inputs.
//
// Input (batch, H, W, C), kernel (kh, kw, C, filters), bias (filters), output
// (batch, OH, OW, filters); params kh * kw * C * filters + filters. Output sizes and the "same"
// padding split are Keras's (see conv_utils.hpp).
//
// Stride 1 without dilation, with a filter count that fills whole SIMD vectors (8 floats), runs
// the direct kernels of conv_direct.hpp, with no patch matrix: the output for up to 64 filters
// (128 with AVX-512's kernels), the weight gradient for up to 32 (64), the input gradient (the
// padded dz correlated with the flipped kernel) for up to 32, or 64 with "same" padding. At
// inference a 3x3 window there, on at least 16 channels, runs Winograd's F(m x m, 3x3) instead
// (conv_winograd.hpp), from a transform of the kernel kept until the kernel's Param::version
// changes.
// Otherwise it runs as GEMMs: the input patches
// of a group of images are laid out as the rows of a (rows, kh * kw * C) matrix (im2col), and cols
// . kernel lands directly in the NHWC output; the kernel in Keras's layout is already the
// right-hand matrix. Backward: dW = cols^T . dZ and dX = col2im(dZ . W^T). The copying (padded
// images, im2col, col2im, the flipped kernel) is in im2col.hpp. Image groups are sized so that
// their patch matrix stays in cache and are spread over the thread pool; a forward pass with a
// single group (batch-1 inference) shares out its output pixels (direct kernels) or its GEMM's
// columns instead. Nothing is allocated per batch once the buffers have grown.
#pragma once

#include <algorithm>
#include <concepts>
#include <numeric>
#include <optional>
#include <string>

#include "../backend/gemm.hpp"
#include "../backend/parallel.hpp"
#include "../initializers.hpp"
#include "conv_direct.hpp"
#include "conv_utils.hpp"
#include "conv_winograd.hpp"
#include "im2col.hpp"
#include "layer.hpp"
#include "pooling2d.hpp"

namespace xkeras::layers {

/// Options of Conv2D, in Keras's order; every default is Keras's.
struct Conv2DOptions {
    size2 strides = 1;
    std::string padding = "valid";  ///< "valid" or "same" (case-insensitive).
    size2 dilation_rate = 1;
    std::string activation = "linear";
    bool use_bias = true;
    initializers::Initializer kernel_initializer = initializers::GlorotUniform();
    initializers::Initializer bias_initializer = initializers::Zeros();
    std::optional<regularizers::Regularizer> kernel_regularizer{};
    std::optional<regularizers::Regularizer> bias_regularizer{};
    shape_t input_shape{};  ///< Keras's `input_shape=` (H, W, C), for a first layer.
    std::string name{};     ///< Defaults to "conv2d", "conv2d_1", ...
};

/// `Conv2D(32, {3, 3}, {.padding = "same", .activation = "relu"})`, `Conv2D(64, 3, "relu")`.
template <class T = float>
class Conv2D : public Layer<T> {
  public:
    Conv2D(int filters, size2 kernel_size, Conv2DOptions options = {})
        : Layer<T>("conv2d", options.name, options.input_shape),
          filters_(checked_filters(filters)),
          kernel_size_(kernel_size),
          same_(detail::padding_mode(options.padding, "Conv2D") == "same"),
          activation_(activations::get(options.activation)),
          opt_(std::move(options)) {
        if ((opt_.strides.h > 1 || opt_.strides.w > 1) &&
            (opt_.dilation_rate.h > 1 || opt_.dilation_rate.w > 1))
            throw value_error(
                xkeras::detail::cat("Conv2D '", this->name(),
                                    "': strides > 1 cannot be combined with dilation_rate > 1 "
                                    "(got strides (",
                                    opt_.strides.h, ", ", opt_.strides.w, ") and dilation_rate (",
                                    opt_.dilation_rate.h, ", ", opt_.dilation_rate.w, "))"));
    }
    template <class S>
    requires std::convertible_to<const S&, std::string> Conv2D(int filters, size2 kernel_size,
                                                               const S& activation,
                                                               Conv2DOptions options = {})
        : Conv2D(filters, kernel_size, with_activation(std::move(options), activation)) {}

    std::string class_name() const override { return "Conv2D"; }
    std::size_t filters() const { return filters_; }
    size2 kernel_size() const { return kernel_size_; }
    const Conv2DOptions& options() const { return opt_; }
    activations::kind output_activation() const override { return activation_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        auto g = geometry(in);
        return {g.out_h, g.out_w, filters_};
    }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        std::vector<Param<T>*> ps{&kernel_};
        if (opt_.use_bias) ps.push_back(&bias_);
        return ps;
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        return run_forward(x, training, nullptr);
    }

    /// With a pooling after it (MaxPooling2D, AveragePooling2D) whose windows fall in bands of
    /// rows (pools_in_row_bands), on the direct and small-patch routes and through a ReLU or no
    /// activation: each thread pools the part of the output it computed, while it is in its
    /// cache. At batch 1 that saves the pooling's own hand-over between the threads (E1 in the
    /// model's pass: docs/performance.md).
    const tensor<T>* forward_fused(const tensor<T>& x, Layer<T>& next) override {
        auto* pool = dynamic_cast<detail::pooling2d_base<T>*>(&next);
        const bool own_loops =
            direct_forward() || (small_patch() && detail::direct::fits<T>(filters_));
        const bool activated_in_loops =
            fused_relu() || (activation_ == activations::kind::linear && !this->output_logits_);
        if (!pool || !pool->pools_in_row_bands() || !own_loops || !activated_in_loops)
            return nullptr;
        run_forward(x, false, pool);
        return &pool->output();
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(x_ != nullptr);
        const tensor<T>& x = *x_;
        const std::size_t n = x.shape()[0], F = filters_, K = patch_size();
        const std::size_t P = g_.out_h * g_.out_w;
        const std::size_t per = images_per_task(), tasks = (n + per - 1) / per;
        const std::size_t threads = std::size_t(backend::pool_size());
        const bool through_activation =
            activation_ != activations::kind::linear && !this->output_logits_;
        // dz lives only while its image group is processed: one group-sized buffer per thread
        // rather than one for the whole batch (E1: 88 MB less at batch 500)
        const bool fused = small_patch_backward(need_input_grad, through_activation);
        if (through_activation && !fused) {
            if (dz_.size() < threads) dz_.resize(threads);
            for (auto& d : dz_)
                if (d.size() < per * P * F) d.resize(per * P * F);
        }
        if (need_input_grad) this->ensure_shape(dx_, shape_of(x));
        const bool gemm_dx = need_input_grad && !direct_input_gradient();
        grow_scratch(direct_weight_gradient() || fused ? 0 : per * P * K,
                     gemm_dx ? per * P * K : 0);
        if (need_input_grad && direct_input_gradient()) {
            flipped_.resize(K * F);
            detail::flip_kernel(g_, F, kernel_.value.data(), flipped_.data());
        }
        // The image groups are cut into one contiguous range per thread, each summing its own
        // partial weight gradient; the partials are added in order, so the result depends on
        // the thread count only, never on scheduling.
        const std::size_t ranges = std::min(threads, tasks);
        partial_dw_.resize(ranges);
        partial_db_.resize(ranges);
        for (std::size_t r = 0; r < ranges; ++r) {
            partial_dw_[r].assign(K * F, T(0));
            partial_db_[r].assign(F, T(0));
        }
        backend::parallel_for(ranges, [&](std::size_t range, int) {
            for (std::size_t t = range * tasks / ranges; t < (range + 1) * tasks / ranges; ++t)
                backward_task(dy, t, per, range, through_activation, need_input_grad);
        });
        std::fill(kernel_.grad.begin(), kernel_.grad.end(), T(0));
        T* gw = kernel_.grad.data();
        for (std::size_t r = 0; r < ranges; ++r)
            for (std::size_t i = 0; i < K * F; ++i) gw[i] += partial_dw_[r][i];
        if (opt_.use_bias) {
            T* gb = bias_.grad.data();
            std::fill(gb, gb + F, T(0));
            for (std::size_t r = 0; r < ranges; ++r)
                for (std::size_t f = 0; f < F; ++f) gb[f] += partial_db_[r][f];
        }
        if (!need_input_grad) {
            dx_ = tensor<T>();
        }
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["filters"] = filters_;
        c["kernel_size"] = {kernel_size_.h, kernel_size_.w};
        c["strides"] = {opt_.strides.h, opt_.strides.w};
        c["padding"] = same_ ? "same" : "valid";
        c["data_format"] = "channels_last";
        c["dilation_rate"] = {opt_.dilation_rate.h, opt_.dilation_rate.w};
        c["groups"] = 1;
        config::write_kernel_options(c, opt_, activations::name(activation_));
        return c;
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Conv2D");
        Conv2DOptions o;
        config::read_kernel_options(r, o);
        const int filters = r.get_int("filters");
        auto k = r.get_pair("kernel_size", {});
        if (k.empty())
            throw value_error("Conv2D '" + r.name() + "': config key 'kernel_size' is missing");
        auto s = r.get_pair("strides", {1, 1});
        auto d = r.get_pair("dilation_rate", {1, 1});
        o.strides = size2(s[0], s[1]);
        o.dilation_rate = size2(d[0], d[1]);
        o.padding = r.get("padding", std::string("valid"));
        r.expect("data_format", "channels_last");
        r.expect("groups", 1);
        r.finish();
        auto layer = std::make_unique<Conv2D<T>>(filters, size2(k[0], k[1]), std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    const tensor<T>* logits() const override { return this->output_logits_ ? &logits_ : nullptr; }

  private:
    /// forward, and with `pool` the pooling after it (forward_fused).
    const tensor<T>& run_forward(const tensor<T>& x, bool training,
                                 detail::pooling2d_base<T>* pool) {
        this->check_input(x);
        const std::size_t n = x.shape()[0], F = filters_, K = patch_size();
        const std::size_t P = g_.out_h * g_.out_w;
        this->ensure_shape(y_, {n, g_.out_h, g_.out_w, F});
        if (this->output_logits_) this->ensure_shape(logits_, shape_of(y_));
        if (pool) pool->begin_fused(y_);
        const std::size_t per = images_per_task(), tasks = (n + per - 1) / per;
        // One task (a small batch: batch-1 inference) would leave the other threads idle: its
        // GEMM, or each image's output pixels, are spread over the pool instead. The small-patch
        // kernel (few multiply-adds per output value, about 0.4 ns each) spreads from 16,384
        // output values, about 6 us of work.
        const bool spread =
            tasks == 1 && (small_patch() && detail::direct::fits<T>(F)
                               ? n * P * F >= 16384
                               : 2.0 * double(n * P * K * F) >= backend::min_parallel_flops);
        const std::size_t chunks = spread ? std::size_t(backend::pool_size()) : 1;
        // A small image (E1's last, 7x7) is shared out by blocks of filters rather than pixels
        const std::size_t fblock = 2 * detail::direct::wide<T>::lanes;
        const bool by_filters = P <= detail::max_pixels_split_by_filters && F / fblock >= chunks;
        // chunk c's filters [f0, f1) when shared out by filters
        auto filter_range = [&](std::size_t c, std::size_t& f0, std::size_t& f1) {
            const std::size_t blocks = F / fblock;
            f0 = by_filters ? c * blocks / chunks * fblock : 0;
            f1 = by_filters && c + 1 < chunks ? (c + 1) * blocks / chunks * fblock : F;
        };
        // Inference with 3x3 windows runs Winograd's F(2x2, 3x3) or F(4x4, 3x3): 16 multiply-adds
        // per 2x2 output pixels, channel and filter, or 36 per 4x4, where the direct kernels
        // take 36 or 144
        const bool wino = !training && winograd_forward();
        if (wino) winograd_prepare();
        // Winograd's tile size, its tiles in an image and in a row of it
        const std::size_t tile = wino ? winograd_tile() : 1, tiles = wino ? winograd_tiles() : 0,
                          cols = wino ? tiles_per_row() : 0;
        // A fused pooling pools the part of the output each chunk computed: its m x m Winograd
        // tiles when each is one pooling window's (pools_in_tiles), else whole bands of rows
        // (then chunk c's pixels are such bands, each the pooling's stride and whole rows of
        // tiles, the larger shares first: the calling thread takes chunk 0 while the others are
        // still on their way).
        const bool pool_tiles = pool && wino && !by_filters && pool->pools_in_tiles(tile);
        // chunk c's output pixels [p0, p1) when shared out by pixels
        auto pixel_range = [&](std::size_t c, std::size_t& p0, std::size_t& p1) {
            if (by_filters || !pool || pool_tiles) {
                p0 = by_filters ? 0 : c * P / chunks;
                p1 = by_filters ? P : (c + 1) * P / chunks;
                return;
            }
            const std::size_t unit = std::lcm(pool->strides().h, tile);
            const std::size_t bands = (g_.out_h + unit - 1) / unit, base = bands / chunks,
                              extra = bands % chunks;
            const std::size_t b0 = c * base + std::min(c, extra), b1 = b0 + base + (c < extra);
            p0 = std::min(g_.out_h, b0 * unit) * g_.out_w;
            p1 = std::min(g_.out_h, b1 * unit) * g_.out_w;
        };
        grow_scratch(direct_forward() ? 0 : per * P * K, 0);
        backend::parallel_for(tasks, [&](std::size_t t, int thread) {
            const std::size_t n0 = t * per, cnt = std::min(per, n - n0), rows = cnt * P;
            T* y = y_.data() + n0 * P * F;
            if (direct_forward()) {
                const detail::direct::plan p = input_plan();
                const T* b = opt_.use_bias ? bias_.value.data() : nullptr;
                for (std::size_t i = n0; i < n0 + cnt; ++i) {
                    T* yi = y + (i - n0) * P * F;
                    backend::parallel_for(chunks, [&](std::size_t c, int th) {
                        // one chunk runs on this task's thread, with its buffers
                        const std::size_t buf = std::size_t(chunks > 1 ? th : thread);
                        std::size_t f0, f1, pix0, pix1;
                        filter_range(c, f0, f1);
                        pixel_range(c, pix0, pix1);
                        if (wino) {  // by tiles of pixels, or by filters
                            std::size_t t0 = c * tiles / chunks, t1 = (c + 1) * tiles / chunks;
                            if (by_filters || (pool && !pool_tiles)) {  // whole rows of tiles
                                t0 = pix0 / g_.out_w / tile * cols;
                                t1 = (pix1 / g_.out_w + tile - 1) / tile * cols;
                            }
                            winograd_image(x, i, buf, t0, t1, f0, f1, b, yi);
                            if (pool_tiles) {
                                pool->pool_input_tiles(y_, i, t0, t1, cols);
                                return;
                            }
                        } else {
                            // Spread over the threads, each pads the rows its pixels read
                            // itself, rows that it mostly wrote in the layer before (a pooling
                            // splits its rows the same way); one thread padding all of them
                            // would pull the others' halves across and hand them back.
                            detail::direct::correlate(p, padded_input(x, i, buf, pix0, pix1),
                                                      kernel_.value.data(), b, fused_relu(), yi,
                                                      pix0, pix1, f0, f1);
                        }
                        if (pool)
                            pool->pool_input_rows(y_, i, pix0 / g_.out_w, pix1 / g_.out_w, f0, f1);
                    });
                }
                if (!fused_relu()) finish(y, rows);
            } else if (small_patch()) {
                // bias and a ReLU are applied in the loop
                if (detail::direct::fits<T>(F)) {
                    const T* b = opt_.use_bias ? bias_.value.data() : nullptr;
                    for (std::size_t i = n0; i < n0 + cnt; ++i) {
                        const T* xi = padded_input(x, i, std::size_t(thread));
                        backend::parallel_for(chunks, [&](std::size_t c, int) {
                            std::size_t pix0, pix1;
                            pixel_range(c, pix0, pix1);
                            detail::direct::small_patch_forward(
                                g_, offsets_.data(), K, xi, kernel_.value.data(), F, b,
                                fused_relu(), y + (i - n0) * P * F, pix0, pix1);
                            if (pool)
                                pool->pool_input_rows(y_, i, pix0 / g_.out_w, pix1 / g_.out_w, 0,
                                                      F);
                        });
                    }
                } else {
                    forward_small_patch(x, n0, cnt, std::size_t(thread), y);
                }
                if (!fused_relu()) finish(y, rows);
            } else {
                const T* a = patches(x, n0, cnt, std::size_t(thread));
                // C starts as the bias and the GEMM adds to it (beta 1): OpenBLAS would
                // otherwise clear C in a pass of its own and the bias take another
                const bool bias = fill_bias(y, rows);
                (spread ? backend::gemm_parallel<T>
                        : backend::gemm<T>)(false, false, rows, F, K, T(1), a, K,
                                            kernel_.value.data(), F, bias ? T(1) : T(0), y, F);
                if (fused_relu())
                    relu(y, rows);
                else
                    finish(y, rows);
            }
        });
        x_ = training ? &x : nullptr;
        return y_;
    }

    /// One image group of the backward pass: dz, its share of dW / db in partial `slot`
    /// (which also picks the scratch buffers), and dx.
    void backward_task(const tensor<T>& dy, std::size_t t, std::size_t per, std::size_t slot,
                       bool through_activation, bool need_input_grad) {
        const tensor<T>& x = *x_;
        const std::size_t n = x.shape()[0], F = filters_, K = patch_size();
        const std::size_t P = g_.out_h * g_.out_w;
        const std::size_t n0 = t * per, cnt = std::min(per, n - n0), rows = cnt * P;
        const std::size_t th = slot;
        const T* dz = dy.data() + n0 * P * F;
        T* db = partial_db_[th].data();
        if (small_patch_backward(need_input_grad, through_activation)) {
            const T* y = through_activation ? y_.data() + n0 * P * F : nullptr;
            for (std::size_t i = 0; i < cnt; ++i)
                detail::direct::small_patch_weight_gradient(
                    g_, offsets_.data(), K, padded_input(x, n0 + i, th), dz + i * P * F,
                    y ? y + i * P * F : nullptr, F, partial_dw_[th].data(), db);
            return;
        }
        if (through_activation && activation_ == activations::kind::relu) {
            // ReLU's gradient and the bias gradient in one pass
            T* d = dz_[th].data();
            const T* y = y_.data() + n0 * P * F;
            for (std::size_t i = 0; i < rows * F; i += F)
                for (std::size_t f = 0; f < F; ++f) {
                    const T g = dz[i + f];  // read unconditionally: a blend, not a masked load
                    const T v = y[i + f] > T(0) ? g : T(0);
                    d[i + f] = v;
                    db[f] += v;
                }
            dz = d;
        } else {
            if (through_activation) {
                T* d = dz_[th].data();
                activations::backward(activation_, y_.data() + n0 * P * F, dz, d, rows, F);
                dz = d;
            }
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t f = 0; f < F; ++f) db[f] += dz[r * F + f];
        }
        if (direct_weight_gradient()) {
            const detail::direct::plan p = input_plan();
            for (std::size_t i = n0; i < n0 + cnt; ++i)
                detail::direct::weight_gradient(p, padded_input(x, i, th), dz + (i - n0) * P * F,
                                                partial_dw_[th].data());
        } else {
            // a GEMM over the patch matrix also for small patches (a GEMM with a long inner
            // dimension runs well, unlike the forward one with K <= 16)
            const T* a = patches(x, n0, cnt, th);
            backend::gemm(true, false, K, F, rows, T(1), a, K, dz, F, T(1), partial_dw_[th].data(),
                          F);
        }
        if (!need_input_grad) return;
        T* dx = dx_.data() + n0 * image_size();
        if (direct_input_gradient()) {
            input_gradient_direct(dz, cnt, th, dx);
            return;
        }
        if (direct()) {  // 1x1, stride 1, no padding: dx = dz . W^T straight into dx
            backend::gemm(false, true, rows, K, F, T(1), dz, F, kernel_.value.data(), F, T(0), dx,
                          K);
            return;
        }
        T* dcols = dcols_[th].data();
        backend::gemm(false, true, rows, K, F, T(1), dz, F, kernel_.value.data(), F, T(0), dcols,
                      K);
        detail::col2im(g_, dcols, cnt, dx);
    }

  protected:
    void build_weights(const shape_t& in) override {
        g_ = geometry(in);
        offsets_ = detail::window_offsets(g_);
        // the padded buffers keep their zero borders between images; a new geometry may put the
        // border where an old image was: they are zeroed again when next sized
        padded_.clear();
        padded_dz_.clear();
        wino_.clear();
        const shape_t kshape{kernel_size_.h, kernel_size_.w, in[2], filters_};
        kernel_ =
            this->make_param("kernel", kshape, opt_.kernel_initializer, opt_.kernel_regularizer);
        if (opt_.use_bias)
            bias_ =
                this->make_param("bias", {filters_}, opt_.bias_initializer, opt_.bias_regularizer);
    }

  private:
    static std::size_t checked_filters(int filters) {
        if (filters <= 0)
            throw value_error(xkeras::detail::cat(
                "Conv2D: expected a positive integer for `filters`, got ", filters));
        return std::size_t(filters);
    }
    static Conv2DOptions with_activation(Conv2DOptions o, std::string activation) {
        o.activation = std::move(activation);
        return o;
    }

    detail::window2d geometry(const shape_t& in) const {
        return detail::window2d::make(in, kernel_size_, opt_.strides, opt_.dilation_rate, same_,
                                      xkeras::detail::cat("layer '", this->name(), "' (Conv2D)"));
    }

    std::size_t patch_size() const { return g_.k_h * g_.k_w * g_.channels; }
    std::size_t image_size() const { return g_.in_h * g_.in_w * g_.channels; }
    bool direct() const { return g_.k_h == 1 && g_.k_w == 1 && g_.s_h == 1 && g_.s_w == 1; }

    /// Images per task: the patch matrix of one task stays within about 1 MiB.
    std::size_t images_per_task() const {
        const std::size_t bytes = g_.out_h * g_.out_w * patch_size() * sizeof(T);
        return std::max<std::size_t>(1, (std::size_t(1) << 20) / std::max<std::size_t>(1, bytes));
    }

    /// Per-thread buffers: `patch_values` for patch matrices, `dcol_values` for their
    /// gradients, and (sized where used) the padded input and dz images.
    void grow_scratch(std::size_t patch_values, std::size_t dcol_values) {
        const std::size_t threads = std::size_t(backend::pool_size());
        if (scratch_.size() < threads) scratch_.resize(threads);
        if (dcols_.size() < threads) dcols_.resize(threads);
        if (padded_.size() < threads) padded_.resize(threads);
        if (padded_dz_.size() < threads) padded_dz_.resize(threads);
        if (direct()) return;  // a 1x1 stride-1 convolution needs neither patches nor dcols
        for (std::size_t t = 0; t < threads; ++t) {
            if (scratch_[t].size() < patch_values) scratch_[t].resize(patch_values);
            if (dcols_[t].size() < dcol_values) dcols_[t].resize(dcol_values);
        }
    }

    /// The direct kernels' conditions (conv_direct.hpp): stride 1, no dilation, more than a 1x1
    /// window and more than 16 patch values (smaller patches have forward_small_patch), whole
    /// vectors of filters, and at most `vectors` of them. Where they are used is measured
    /// (`bench_kernels --benchmark_filter=conv_path` and `bench_epoch --layer-times`,
    /// docs/performance.md). With AVX2's kernels, against im2col + GEMM, the forward pass won up
    /// to 64 filters (8 float vectors) and tied or lost at 128; the weight gradient won at 32
    /// filters and lost at 64, where the GEMM is wide enough to run well. AVX-512's kernels run
    /// near the GEMM's rate: the forward pass won up to 128 filters, the weight gradient up to 64.
    bool direct_kernels(std::size_t vectors) const {
        return g_.s_h == 1 && g_.s_w == 1 && g_.d_h == 1 && g_.d_w == 1 && !direct() &&
               !small_patch() && detail::direct::fits<T>(filters_) &&
               filters_ <= vectors * detail::direct::simd<T>::lanes;
    }
    static constexpr bool wide_kernels = detail::direct::wide_bytes == 64;
    bool direct_forward() const { return direct_kernels(wide_kernels ? 16 : 8); }
    bool direct_weight_gradient() const { return direct_kernels(wide_kernels ? 8 : 4); }
    /// The input gradient's output channels are the input's: they must fill whole vectors too.
    /// Its direct route computes every input pixel, the GEMM only the output's: with "valid"
    /// padding (26x26 inputs against 24x24 outputs) that is extra work, so past 32 filters it runs
    /// only where the two sizes match ("same"), up to 64 filters. In E1's step (`bench_epoch
    /// --layer-times`) it won at 64 filters and lost at 128, where the flipped kernel (295 KB)
    /// no longer stays in cache next to the weight gradient's GEMM.
    bool direct_input_gradient() const {
        const bool same_size = g_.in_h * g_.in_w == g_.out_h * g_.out_w;
        return direct_kernels(same_size ? 8 : 4) && detail::direct::fits<T>(g_.channels);
    }

    /// The correlation of an input image (padded for "same") with the kernel.
    detail::direct::plan input_plan() const {
        return {g_.channels, filters_, g_.k_h, g_.k_w, g_.read_w(), g_.out_h, g_.out_w};
    }

    /// Winograd's route (conv_winograd.hpp): the direct kernels' conditions, a 3x3 window and at
    /// least 16 input channels. Measured on one thread against the direct kernels
    /// (`bench_kernels --benchmark_filter=conv_winograd`, docs/performance.md): faster on every
    /// seed model's shape; with 3 channels (to 24 filters) 2.6 against 1.0 us, its transforms
    /// outweighing its products.
    bool winograd_forward() const {
        return direct_forward() && g_.k_h == 3 && g_.k_w == 3 &&
               g_.channels >= 2 * detail::direct::simd<T>::lanes;
    }

    /// Calls f.template operator()<m>() with Winograd's tile size for this geometry: 4x4 tiles for
    /// outputs of 400 pixels and more (E5's 24x24x32 to 32, 500 images on one thread: 6.5
    /// against 10.2 ms with 2x2 tiles), else 2x2. On smaller images 4x4 tiles leave more of their
    /// pixels unused and their larger transforms cost more than their products save (10x10x32 to
    /// 64: 5.2 against 3.1 ms); and their transformed kernel, 36 instead of 16 values per weight
    /// pair, no longer stays in cache in a batch-1 pass (E1's 7x7x64 to 128 in the model's pass:
    /// 32-39 us per half of the filters, against 22 alone; docs/performance.md).
    template <class F>
    decltype(auto) with_winograd_tile(F&& f) const {
        if (g_.out_h * g_.out_w >= 400) return f.template operator()<4>();
        return f.template operator()<2>();
    }

    /// Before a forward pass by Winograd's route: each thread's buffers, and the kernel's
    /// transform, remade when the kernel changed since it was made.
    void winograd_prepare() {
        with_winograd_tile([&]<std::size_t m>() {
            namespace wg = detail::winograd;
            const std::size_t C = g_.channels, F = filters_;
            const wg::tiling<m> tl(g_.out_h, g_.out_w);
            const std::size_t threads = std::size_t(backend::pool_size());
            if (wino_.size() < threads) wino_.resize(threads);
            for (auto& w : wino_) {
                // zeroed once: the border rows and columns are never written
                if (w.x.size() != tl.input_h() * tl.input_w() * C)
                    w.x.assign(tl.input_h() * tl.input_w() * C, T(0));
                if (w.v.size() < wg::v_values<m>(C)) w.v.resize(wg::v_values<m>(C));
                if (w.m.size() < wg::m_values<m>(F)) w.m.resize(wg::m_values<m>(F));
            }
            if (wino_kernel_version_ == kernel_.version &&
                wino_kernel_source_ == kernel_.value.data() &&
                wino_kernel_.size() == tl.positions * C * F)
                return;
            wino_kernel_.resize(tl.positions * C * F);
            wg::transform_kernel<m>(kernel_.value.data(), C, F, wino_kernel_.data());
            wino_kernel_version_ = kernel_.version;
            wino_kernel_source_ = kernel_.value.data();
        });
    }

    /// The number of Winograd tiles of an output image, of a row of them, their size.
    std::size_t winograd_tiles() const {
        return with_winograd_tile([&]<std::size_t m>() {
            return detail::winograd::tiling<m>(g_.out_h, g_.out_w).count();
        });
    }
    std::size_t tiles_per_row() const {
        return with_winograd_tile(
            [&]<std::size_t m>() { return detail::winograd::tiling<m>(g_.out_h, g_.out_w).cols; });
    }
    std::size_t winograd_tile() const {
        return with_winograd_tile([&]<std::size_t m>() { return m; });
    }

    /// Tiles [t0, t1) and filters [f0, f1) of image i's output yi by Winograd's route, in thread
    /// buf's buffers: the input rows those tiles read are copied into its zero-bordered image.
    void winograd_image(const tensor<T>& x, std::size_t i, std::size_t buf, std::size_t t0,
                        std::size_t t1, std::size_t f0, std::size_t f1, const T* bias, T* yi) {
        if (t0 >= t1) return;
        with_winograd_tile([&]<std::size_t m>() {
            namespace wg = detail::winograd;
            const std::size_t C = g_.channels, F = filters_;
            const wg::tiling<m> tl(g_.out_h, g_.out_w);
            auto& w = wino_[buf];
            // padded rows [m ty0, m ty1 + m + 2) are read; input row h is padded row h + pad_top
            const std::size_t r0 = m * (t0 / tl.cols), r1 = m * ((t1 - 1) / tl.cols) + m + 2;
            const std::size_t h0 = r0 > g_.pad_top ? r0 - g_.pad_top : 0;
            const std::size_t h1 = std::min(g_.in_h, r1 > g_.pad_top ? r1 - g_.pad_top : 0);
            const T* src = x.data() + i * image_size();
            for (std::size_t h = h0; h < h1; ++h)
                std::copy_n(src + h * g_.in_w * C, g_.in_w * C,
                            w.x.data() + ((h + g_.pad_top) * tl.input_w() + g_.pad_left) * C);
            wg::forward<m>(w.x.data(), C, F, wino_kernel_.data(), bias, fused_relu(), yi, g_.out_h,
                           g_.out_w, t0, t1, f0, f1, w.v.data(), w.m.data());
        });
    }

    /// Image i of x as the windows read it: x's own, or with padding its zero-bordered copy in
    /// thread th's buffer (im2col.hpp's pad_image), of which only the rows output pixels
    /// [p0, p1) read are written when given.
    const T* padded_input(const tensor<T>& x, std::size_t i, std::size_t th, std::size_t p0 = 0,
                          std::size_t p1 = std::size_t(-1)) {
        return detail::pad_image(g_, x.data() + i * image_size(), padded_[th], p0, p1);
    }

    /// dx of `cnt` images from their dz: each dz image, padded by k - 1 all round, correlated
    /// with the flipped kernel gives the gradient of the padded input, of which the part under
    /// the real input is computed.
    void input_gradient_direct(const T* dz, std::size_t cnt, std::size_t th, T* dx) {
        const std::size_t F = filters_;
        const detail::direct::plan p{
            F, g_.channels, g_.k_h, g_.k_w, detail::padded_gradient_w(g_), g_.in_h, g_.in_w};
        for (std::size_t i = 0; i < cnt; ++i, dz += g_.out_h * g_.out_w * F, dx += image_size()) {
            const T* z =
                detail::pad_output_gradient(g_, F, dz, padded_dz_[th], g_.pad_top, g_.pad_left);
            detail::direct::correlate(p, z, flipped_.data(), static_cast<const T*>(nullptr), false,
                                      dx);
        }
    }

    /// The patch matrix of images [n0, n0 + cnt) in thread th's buffer: rows (image, oh, ow),
    /// columns (ky, kx, c) (im2col.hpp). A 1x1 stride-1 convolution uses the input itself.
    const T* patches(const tensor<T>& x, std::size_t n0, std::size_t cnt, std::size_t th) {
        if (direct()) return x.data() + n0 * image_size();
        const std::size_t per_image = g_.out_h * g_.out_w * patch_size();
        T* out = scratch_[th].data();
        for (std::size_t i = 0; i < cnt; ++i)
            detail::im2col(g_, offsets_.data(), padded_input(x, n0 + i, th), out + i * per_image);
        return out;
    }

    /// ReLU folded into the loops that write the output (no logits wanted: not a fused loss).
    bool fused_relu() const {
        return activation_ == activations::kind::relu && !this->output_logits_;
    }

    /// Sets every output row to the bias; false (and nothing written) without a bias.
    bool fill_bias(T* y, std::size_t rows) const {
        if (!opt_.use_bias) return false;
        const std::size_t F = filters_;
        const T* b = bias_.value.data();
        for (std::size_t r = 0; r < rows; ++r, y += F) std::copy_n(b, F, y);
        return true;
    }

    /// y = max(y, 0) over the rows a task just computed (still in cache).
    void relu(T* y, std::size_t rows) const {
        for (std::size_t i = 0; i < rows * filters_; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
    }

    /// Keeps the logits when asked, then applies the activation, on `rows` output rows.
    void finish(T* y, std::size_t rows) {
        const std::size_t F = filters_;
        if (this->output_logits_) std::copy_n(y, rows * F, logits_.data() + (y - y_.data()));
        activations::apply(activation_, y, rows, F);
    }

    /// A first layer's backward pass (no input gradient) over small patches, through a ReLU or
    /// none, runs as one kernel (conv_direct.hpp's small_patch_weight_gradient): ReLU's mask, the
    /// bias and weight gradients in one pass over dy and y, with no dz buffer and no patches.
    bool small_patch_backward(bool need_input_grad, bool through_activation) const {
        return small_patch() && !need_input_grad && detail::direct::fits<T>(filters_) &&
               (!through_activation || activation_ == activations::kind::relu);
    }

    /// Patches of at most 16 values (a first layer on 1-3 channels): a GEMM with so short an
    /// inner dimension is all overhead, so their forward pass runs as a plain loop over the filters
    /// (their weight gradient is still a GEMM: its inner dimension is the batch's pixels).
    bool small_patch() const { return patch_size() <= 16; }

    /// The small-patch loop works on blocks of `lanes` filters held in one SIMD register
    /// (conv_direct.hpp's 32-byte vector type), so it vectorises at -O2 too.
    void forward_small_patch(const tensor<T>& x, std::size_t n0, std::size_t cnt, std::size_t th,
                             T* y) {
        using S = detail::direct::simd<T>;
        using vec = typename S::vec;
        constexpr std::size_t lanes = S::lanes;
        const std::size_t F = filters_, K = patch_size(), F_blocked = F / lanes * lanes;
        const T* w = kernel_.value.data();
        const T* b = opt_.use_bias ? bias_.value.data() : nullptr;
        const bool relu = fused_relu();
        const std::size_t* off = offsets_.data();
        for (std::size_t i = n0; i < n0 + cnt; ++i)
            detail::for_each_window(g_, padded_input(x, i, th), [&](std::size_t p, const T* a) {
                T* yr = y + ((i - n0) * g_.out_h * g_.out_w + p) * F;
                for (std::size_t f0 = 0; f0 < F_blocked; f0 += lanes) {
                    vec acc{}, wk;
                    if (b) S::load(acc, b + f0);
                    for (std::size_t k = 0; k < K; ++k) {
                        S::load(wk, w + k * F + f0);
                        acc += a[off[k]] * wk;
                    }
                    if (relu) acc = acc > vec{} ? acc : vec{};
                    S::store(yr + f0, acc);
                }
                for (std::size_t f = F_blocked; f < F; ++f) {
                    T acc = b ? b[f] : T(0);
                    for (std::size_t k = 0; k < K; ++k) acc += a[off[k]] * w[k * F + f];
                    yr[f] = relu && acc < T(0) ? T(0) : acc;
                }
            });
    }

    std::size_t filters_;
    size2 kernel_size_;
    bool same_;
    activations::kind activation_;
    Conv2DOptions opt_;
    detail::window2d g_;
    Param<T> kernel_, bias_;
    tensor<T> y_, dx_, logits_;
    std::vector<std::vector<T>> dz_;  // per thread: dL/d(pre-activation) of one image group
    const tensor<T>* x_ = nullptr;
    std::vector<std::vector<T>> scratch_, dcols_, partial_dw_, partial_db_;
    // per thread: a padded input image (every path) and a padded dz image (direct input gradient)
    std::vector<std::vector<T>> padded_, padded_dz_;
    std::vector<std::size_t> offsets_;  // detail::window_offsets(g_)
    std::vector<T> flipped_;            // the kernel as the input gradient's correlation needs
    // Winograd's route: the transformed kernel, the kernel version and data it was made from,
    // and per thread a padded input image and the V and M blocks (conv_winograd.hpp)
    std::vector<T> wino_kernel_;
    std::uint64_t wino_kernel_version_ = 0;
    const T* wino_kernel_source_ = nullptr;
    struct winograd_buffers {
        std::vector<T> x, v, m;
    };
    std::vector<winograd_buffers> wino_;
};

}  // namespace xkeras::layers
