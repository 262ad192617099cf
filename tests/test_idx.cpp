// The IDX reader and the MNIST loader: small files written by the test (good, wrong magic,
// truncated, count-mismatched) and, when present, the real MNIST.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <xkeras/xkeras.hpp>

#include "real_mnist.hpp"
#include "temp_dir.hpp"

using namespace xkeras;
namespace fs = std::filesystem;

namespace {

void write_bytes(const fs::path& p, const std::vector<unsigned char>& b) {
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

std::vector<unsigned char> idx3(std::uint32_t n, std::uint32_t h, std::uint32_t w) {
    std::vector<unsigned char> b{0, 0, 8, 3};
    for (auto d : {n, h, w})
        for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(d >> s));
    for (std::uint32_t i = 0; i < n * h * w; ++i) b.push_back(static_cast<unsigned char>(i % 256));
    return b;
}

std::vector<unsigned char> idx1(const std::vector<unsigned char>& labels) {
    std::vector<unsigned char> b{0, 0, 8, 1, 0, 0, 0, static_cast<unsigned char>(labels.size())};
    for (auto l : labels) b.push_back(l);
    return b;
}

}  // namespace

TEST_CASE("read_idx reads shapes and bytes of a valid file", "[idx]") {
    testing::temp_dir d("xkeras-idx");
    write_bytes(d.path() / "img", idx3(2, 3, 4));
    auto t = datasets::read_idx(d.path() / "img", 3);
    CHECK(shape_of(t) == shape_t{2, 3, 4});
    CHECK(int(t(1, 2, 3)) == 23);
    write_bytes(d.path() / "lab", idx1({5, 0, 4}));
    auto l = datasets::read_idx(d.path() / "lab", 1);
    CHECK(shape_of(l) == shape_t{3});
    CHECK(int(l(2)) == 4);
}

TEST_CASE("read_idx refuses damaged files and says what is wrong", "[idx][errors]") {
    testing::temp_dir d("xkeras-idx");
    auto f = d.path() / "bad";
    CHECK_THROWS_WITH(datasets::read_idx(d.path() / "missing"), Catch::Contains("does not exist"));

    auto b = idx3(2, 2, 2);
    b[0] = 0x1f;  // a gzip file given by mistake starts with 1f 8b
    write_bytes(f, b);
    CHECK_THROWS_WITH(datasets::read_idx(f),
                      Catch::Contains("not an IDX file") && Catch::Contains("bad"));

    b = idx3(2, 2, 2);
    b[2] = 0x0D;  // float data
    write_bytes(f, b);
    CHECK_THROWS_WITH(datasets::read_idx(f), Catch::Contains("0x08") && Catch::Contains("0xd"));

    b = idx3(2, 2, 2);
    b.pop_back();
    write_bytes(f, b);
    CHECK_THROWS_WITH(datasets::read_idx(f),
                      Catch::Contains("truncated") && Catch::Contains("(2, 2, 2)"));

    b = idx3(2, 2, 2);
    b.push_back(7);
    write_bytes(f, b);
    CHECK_THROWS_WITH(datasets::read_idx(f), Catch::Contains("trailing bytes"));

    write_bytes(f, {0, 0, 8});
    CHECK_THROWS_WITH(datasets::read_idx(f), Catch::Contains("truncated"));
    write_bytes(f, {0, 0, 8, 3, 0, 0});
    CHECK_THROWS_WITH(datasets::read_idx(f), Catch::Contains("header alone needs 16"));

    write_bytes(f, idx3(1, 2, 2));
    CHECK_THROWS_WITH(datasets::read_idx(f, 1), Catch::Contains("expected 1 dimension"));
}

TEST_CASE("read_idx refuses shapes whose sizes overflow", "[idx][errors]") {
    // (issue 7's known bug) four dimensions of 65536: 2^64 bytes, which wrapped to 0 and matched
    // an empty data part, giving a tensor whose shape announced 2^64 elements over no buffer
    const std::vector<unsigned char> b{0, 0, 8, 4, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0};
    CHECK_THROWS_AS(datasets::detail::parse_idx(b, "wrap.idx"), io_error);
    CHECK_THROWS_WITH(datasets::detail::parse_idx(b, "wrap.idx"),
                      "IDX file 'wrap.idx' is truncated: its header announces shape (65536, "
                      "65536, 65536, 65536), more bytes than a size_t can count, after a 20-byte "
                      "header, but the file holds 0 bytes of data");
    // 255 dimensions of 0xFFFFFFFF
    std::vector<unsigned char> big{0, 0, 8, 255};
    for (int i = 0; i < 4 * 255; ++i) big.push_back(0xff);
    CHECK_THROWS_WITH(datasets::detail::parse_idx(big, "big.idx"),
                      Catch::Contains("more bytes than a size_t can count"));
    // (found by fuzz_idx) an empty dimension makes the data empty, but the other dimensions
    // must still fit a tensor's signed strides: xtensor's stride computation overflowed (UB)
    const std::vector<unsigned char> zero{0,    0,    8,    3,    0,    0,    0,    0,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK_THROWS_WITH(datasets::detail::parse_idx(zero, "zero.idx"),
                      "IDX file 'zero.idx': its header announces shape (0, 4294967295, "
                      "4294967295), too large for a tensor's strides even though a dimension is 0");
    const std::vector<unsigned char> empty{0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28};
    CHECK(shape_of(datasets::detail::parse_idx(empty, "empty.idx")) == shape_t{0, 28, 28});
    // a large but countable shape is checked against the bytes before anything is allocated
    const std::vector<unsigned char> huge{0,    0,    8,    2,    0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK_THROWS_WITH(datasets::detail::parse_idx(huge, "huge.idx"),
                      Catch::Contains("= 18446744065119617025 bytes of data") &&
                          Catch::Contains("holds 0 bytes"));
}

TEST_CASE("The MNIST loader checks counts, labels and checksums", "[idx][mnist]") {
    testing::temp_dir d("xkeras-idx");
    write_bytes(d.path() / "train-images-idx3-ubyte", idx3(3, 28, 28));
    write_bytes(d.path() / "train-labels-idx1-ubyte", idx1({1, 2}));  // 2 labels for 3 images
    write_bytes(d.path() / "t10k-images-idx3-ubyte", idx3(1, 28, 28));
    write_bytes(d.path() / "t10k-labels-idx1-ubyte", idx1({11}));  // out of range
    // not the real files: the checksum check refuses them first
    CHECK_THROWS_WITH(datasets::mnist::load_data(d.path()),
                      Catch::Contains("damaged") && Catch::Contains("expected SHA-256 ba891046"));
    // without checksums the count mismatch is found
    CHECK_THROWS_WITH(datasets::mnist::load_data(d.path(), false),
                      Catch::Contains("holds 3 images") && Catch::Contains("holds 2 labels"));
    write_bytes(d.path() / "train-labels-idx1-ubyte", idx1({1, 2, 3}));
    CHECK_THROWS_WITH(datasets::mnist::load_data(d.path(), false),
                      Catch::Contains("label 0 is 11") && Catch::Contains("expected 0..9"));
    fs::remove(d.path() / "t10k-labels-idx1-ubyte");
    CHECK_THROWS_WITH(datasets::mnist::load_data(d.path()),
                      Catch::Contains("not found") && Catch::Contains("fetch_mnist.sh"));
}

TEST_CASE("SHA-256 matches the FIPS 180-4 test vectors", "[idx][sha256]") {
    auto hex = [](const std::string& s) {
        xkeras::detail::sha256 h;
        h.update(s.data(), s.size());
        return h.hex_digest();
    };
    CHECK(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("The real MNIST: shapes, first labels and test label counts", "[idx][mnist][real]") {
    const auto& [train, test] = testing::real_mnist();
    CHECK(shape_of(train.images) == shape_t{60000, 28, 28});
    CHECK(shape_of(train.labels) == shape_t{60000});
    CHECK(shape_of(test.images) == shape_t{10000, 28, 28});
    CHECK(shape_of(test.labels) == shape_t{10000});
    std::vector<int> first_train, first_test;
    for (int i = 0; i < 10; ++i) {
        first_train.push_back(train.labels(i));
        first_test.push_back(test.labels(i));
    }
    CHECK(first_train == std::vector<int>{5, 0, 4, 1, 9, 2, 1, 3, 1, 4});
    CHECK(first_test == std::vector<int>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9});
    std::vector<int> counts(10);
    for (auto l : test.labels) ++counts[l];
    CHECK(counts == std::vector<int>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
    CHECK(int(xt::amax(train.images)()) == 255);
}

TEST_CASE("Fashion-MNIST loads from Debian's gzipped files when installed", "[idx][fashion]") {
    if (!fs::exists(datasets::fashion_mnist::default_dir() / "t10k-labels-idx1-ubyte.gz")) {
        WARN("dataset-fashion-mnist is not installed: Fashion-MNIST not checked");
        return;
    }
    auto [train, test] = datasets::fashion_mnist::load_data();
    CHECK(shape_of(train.images) == shape_t{60000, 28, 28});
    CHECK(shape_of(test.labels) == shape_t{10000});
    CHECK(int(test.labels(0)) == 9);  // an ankle boot
}
