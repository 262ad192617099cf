// xkeras/keras_files/hdf5.hpp - the reading half of HDF5 that Keras's files need, over the HDF5
// C library: a file opened from bytes in memory (so `model.weights.h5` is read straight out of
// a `.keras` zip), groups, their children by name, string attributes (fixed-length and
// variable-length, scalar or 1-D) and float or integer datasets.
//
// The bytes come from outside, and HDF5 is a large C library: every object is opened only after
// its name is found among its group's links, every attribute's and dataset's rank, shape, type
// and size is checked before anything is read or allocated, and counts (links, strings) are
// bounded. Errors are io_error naming the file and the object's path. HDF5's own error printing
// is switched off; calls are serialised, since HDF5 may be built without thread safety.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../detail/format.hpp"
#include "../tensor.hpp"

namespace xkeras::keras_files::hdf5 {

/// Bounds on what a file may make the reader hold.
struct limits {
    std::size_t max_links = 100000;            ///< children of one group
    std::size_t max_strings = 100000;          ///< elements of one string attribute
    std::size_t max_string_bytes = 64u << 20;  ///< bytes of one string attribute, in all
    std::size_t max_rank = 8;                  ///< of a dataset
    std::size_t max_name_bytes = 4096;         ///< of a link name
    std::size_t max_path_depth = 32;           ///< parts of a path given by the file
};

/// The lock every HDF5 call of this reader runs under.
inline std::mutex& library_mutex() {
    static std::mutex m;
    return m;
}

namespace detail {

/// An HDF5 identifier closed by `close` at the end of its scope.
class id {
  public:
    using closer = herr_t (*)(hid_t);
    id() = default;
    id(hid_t h, closer c) : h_(h), close_(c) {}
    id(id&& o) noexcept : h_(std::exchange(o.h_, H5I_INVALID_HID)), close_(o.close_) {}
    id& operator=(id&& o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, H5I_INVALID_HID);
            close_ = o.close_;
        }
        return *this;
    }
    id(const id&) = delete;
    id& operator=(const id&) = delete;
    ~id() { reset(); }
    hid_t get() const { return h_; }
    explicit operator bool() const { return h_ >= 0; }

  private:
    void reset() {
        if (h_ >= 0 && close_) close_(h_);
        h_ = H5I_INVALID_HID;
    }
    hid_t h_ = H5I_INVALID_HID;
    closer close_ = nullptr;
};

}  // namespace detail

class file;

/// The shape and element type of a dataset.
struct dataset_info {
    shape_t shape;
    H5T_class_t type_class = H5T_NO_CLASS;  ///< H5T_FLOAT or H5T_INTEGER for what Keras writes
    std::size_t type_size = 0;              ///< bytes per element
    std::string type_name() const {
        if (type_class == H5T_FLOAT) return "float" + std::to_string(8 * type_size);
        if (type_class == H5T_INTEGER) return "int" + std::to_string(8 * type_size);
        return "a type that is not a number";
    }
};

/// A group of an open file: its children by name, its attributes, its datasets.
class group {
  public:
    /// This group's path in the file ("/layers/dense/vars").
    const std::string& path() const { return path_; }

    /// Names of the links in this group, in HDF5's name order (bounded by limits::max_links).
    std::vector<std::string> children() const;
    /// Whether a link of this name is in the group (never follows anything).
    bool has(const std::string& name) const;
    /// The child group `name`; io_error when it is missing or not a group.
    group child(const std::string& name) const;

    /// The group that holds the object at `path`, a '/'-separated path below this group, and
    /// that object's own name: Keras's legacy files name a weight by such a path
    /// ("dense/kernel:0"). Each group on the way is opened as child() does; a path with an empty,
    /// "." or ".." part, or deeper than limits::max_path_depth, is refused.
    std::pair<group, std::string> locate(const std::string& path) const;

    /// Whether the attribute exists.
    bool has_attribute(const std::string& name) const;
    /// A string attribute as a list of strings: a scalar gives one, a 1-D array its elements
    /// (fixed-length or variable-length, trailing NULs of fixed-length strings removed). An
    /// attribute that is an empty non-string array (Keras 2 writes `weight_names=[]` so) gives
    /// none. io_error for anything else.
    std::vector<std::string> strings(const std::string& name) const;

    /// The shape and type of dataset `name`; io_error when it is missing or not a dataset.
    dataset_info dataset(const std::string& name) const;
    /// Dataset `name`, converted to T by HDF5, after checking that it is a float dataset of
    /// exactly shape `expected`: nothing of another size is allocated.
    template <class T>
    tensor<T> read(const std::string& name, const shape_t& expected) const;
    /// A scalar integer dataset (Keras's iteration counter).
    std::int64_t read_integer(const std::string& name) const;
    /// Refuses dataset `name` (open as `d`, under the library lock) unless its values are stored
    /// as Keras's writers store them, contiguous or chunked, or compact with exactly the bytes its
    /// shape and type need: HDF5 1.10.8 copies a compact dataset's values from the buffer its
    /// layout message records, whatever the shape says (a layout flipped to compact with no
    /// data made it copy from address 0), and a virtual dataset would read other files.
    void check_storage(hid_t d, const std::string& name, const dataset_info& info) const;

    /// "'file': /path", for messages about this group.
    std::string describe() const;
    /// "'file': /path/name", for messages about child `name`.
    std::string where(const std::string& name) const;

  private:
    friend class file;
    group(const file* f, detail::id h, std::string path)
        : file_(f), h_(std::move(h)), path_(std::move(path)) {}
    detail::id open_object(const std::string& name, H5I_type_t want, const char* what) const;
    /// Checks the attribute messages of this group's object header before HDF5 decodes them.
    void check_header() const;

    const file* file_ = nullptr;
    detail::id h_;
    std::string path_;
};

/// An HDF5 file read from bytes in memory; `name` names it in errors.
class file {
  public:
    file(std::string bytes, std::string name, limits lim = {});
    file(const file&) = delete;
    file& operator=(const file&) = delete;
    ~file() = default;

    /// The root group "/".
    group root() const;
    const std::string& name() const { return name_; }
    const limits& bounds() const { return lim_; }
    /// The file's bytes, for what is checked before HDF5 reads it.
    const std::string& bytes() const { return bytes_; }

  private:
    std::string bytes_;
    std::string name_;
    limits lim_;
    detail::id h_;
};

// ---------------------------------------------------------------------------------------------

namespace detail {

inline std::string quoted(const std::string& s) {
    // cat, not "'" + ...: GCC 12 warns falsely (-Wrestrict) on operator+(const char*, string&&)
    return xkeras::detail::cat("'", xkeras::detail::excerpt(s, 200), "'");
}

/// The little-endian unsigned number of `size` bytes at `at`.
inline std::uint64_t little_endian(const std::string& bytes, std::size_t at, std::size_t size) {
    std::uint64_t v = 0;
    for (std::size_t i = size; i-- > 0;) v = (v << 8) | std::uint8_t(bytes[at + i]);
    return v;
}

/// Where HDF5's superblock (at byte 0) says addresses and lengths are, and how wide they are.
struct superblock_sizes {
    std::size_t offset_size = 0, length_size = 0;
    std::uint64_t base = 0;  ///< the base address addresses count from
    std::uint64_t root = 0;  ///< the root group's object header, from the base address
    /// the root group's local heap as versions 0 and 1 cache it next to the root's header
    /// (HDF5 falls back on it when the header's own is damaged), or none
    std::optional<std::uint64_t> cached_root_heap;
};

/// The sizes of the superblock at byte 0, or all zero when it is not one HDF5 reads.
inline superblock_sizes read_superblock(const std::string& bytes) {
    superblock_sizes s;
    if (bytes.size() < 48) return s;
    const unsigned version = std::uint8_t(bytes[8]);
    if (version > 3) return s;
    s.offset_size = std::uint8_t(bytes[version < 2 ? 13 : 9]);
    s.length_size = std::uint8_t(bytes[version < 2 ? 14 : 10]);
    if (s.offset_size == 0 || s.offset_size > 8 || s.length_size == 0 || s.length_size > 8)
        return {};
    const std::size_t base_at = version == 0 ? 24 : version == 1 ? 28 : 12;
    // versions 0 and 1: base, free space, end of file and driver addresses, then the root
    // group's entry (its name's offset, its object header); 2 and 3: base, extension, end of
    // file, then the root group's object header
    const std::size_t root_at = base_at + (version < 2 ? 5 : 3) * s.offset_size;
    if (root_at + s.offset_size > bytes.size()) return {};
    s.base = little_endian(bytes, base_at, s.offset_size);
    s.root = little_endian(bytes, root_at, s.offset_size);
    // the entry's cache type 1 (a group) holds a B-tree and a heap address in its scratch pad
    const std::size_t cache_at = root_at + s.offset_size;
    if (version < 2 && cache_at + 8 + 2 * s.offset_size <= bytes.size() &&
        little_endian(bytes, cache_at, 4) == 1)
        s.cached_root_heap = little_endian(bytes, cache_at + 8 + s.offset_size, s.offset_size);
    return s;
}

/// Why HDF5 must not read the local heap (a group's link names) at `address` from the base, or
/// "". HDF5 allocates the data segment's announced size before it reads it, follows its free
/// list with no check for a loop (one allocation a step), and reads a link name from an offset
/// it checks up to a NUL it does not look for.
inline std::string local_heap_hazard(const std::string& bytes, const superblock_sizes& sb,
                                     std::uint64_t address) {
    const std::size_t L = sb.length_size, O = sb.offset_size;
    if (sb.base > bytes.size() || address > bytes.size() - sb.base)
        return "a local heap's address " + std::to_string(address) + " lies outside the file";
    const std::size_t at = std::size_t(sb.base + address);
    const std::string heap = "the local heap at byte " + std::to_string(at);
    if (8 + 2 * L + O > bytes.size() - at) return heap + " runs past the end of the file";
    if (bytes.compare(at, 8, std::string("HEAP\0\0\0\0", 8)) != 0)
        return heap + " has no local heap signature";
    const std::uint64_t data_size = little_endian(bytes, at + 8, L);
    std::uint64_t block = little_endian(bytes, at + 8 + L, L);
    const std::uint64_t data = sb.base + little_endian(bytes, at + 8 + 2 * L, O);
    if (data < sb.base || data > bytes.size() || data_size > bytes.size() - data)
        return heap + " announces " + std::to_string(data_size) + " bytes of data at byte " +
               std::to_string(data) + ", past the file's " + std::to_string(bytes.size()) +
               " bytes, which HDF5 would allocate before reading them";
    // a valid heap ends in a NUL: names are padded with them, free blocks end in a small size
    if (data_size > 0 && bytes[std::size_t(data + data_size - 1)] != 0)
        return heap + " does not end in a NUL byte, past which HDF5 would read a link name";
    // free blocks do not overlap and each holds at least 2L bytes: a list of more blocks than
    // the data can hold loops (counted, not remembered: no allocation the file drives)
    for (std::uint64_t steps = 0; block != 1 && block < data_size && block + 2 * L <= data_size;
         ++steps) {
        if (steps > data_size / (2 * L))
            return heap + " has a free list that loops, on which HDF5's reader never ends";
        block = little_endian(bytes, std::size_t(data + block), L);
    }
    return {};
}

/// The offsets of every global heap collection signature ("GCOL") in `bytes`.
inline std::vector<std::size_t> global_heaps(const std::string& bytes) {
    std::vector<std::size_t> at;
    for (std::size_t p = bytes.find("GCOL"); p != std::string::npos; p = bytes.find("GCOL", p + 1))
        at.push_back(p);
    return at;
}

/// The objects of the global heap collection at `at`, by index: their sizes, as HDF5's reader
/// walks the collection (free space, index 0, left out). `stalls` tells whether the walk meets
/// an empty free-space object, on which HDF5 1.10's reader loops for ever (it advances by each
/// object's size); a real file never holds one (free space that small has no object header).
struct heap_objects {
    std::map<std::uint64_t, std::uint64_t> size;
    bool stalls = false;
    bool overflows = false;  ///< an object runs past the collection's end
    bool wraps = false;      ///< free space runs past it (HDF5 steps by it, wrapping the pointer)
};

inline heap_objects read_heap(const std::string& bytes, std::size_t at, std::size_t length_size) {
    heap_objects out;
    const std::size_t header = 8 + length_size;  // "GCOL", version, 3 reserved, collection size
    const std::size_t object_header = 8 + length_size;  // index, references, reserved, size
    if (at + header > bytes.size() || std::uint8_t(bytes[at + 4]) != 1) return out;
    const std::uint64_t size = little_endian(bytes, at + 8, length_size);
    const std::size_t end = std::size_t(std::min<std::uint64_t>(size, bytes.size() - at));
    for (std::size_t p = header; p < end && p + object_header <= end;) {
        const std::uint64_t index = little_endian(bytes, at + p, 2);
        const std::uint64_t object = little_endian(bytes, at + p + 8, length_size);
        if (index == 0 && object == 0) {
            out.stalls = true;
            return out;
        }
        // HDF5 adds free space's recorded size to its pointer unchecked: a size near 2^64
        // moves it back before the collection, where it reads on. A real collection's free
        // space ends at the collection's recorded end.
        if (index == 0 && object > size - p) {
            out.wraps = true;
            return out;
        }
        if (index != 0) {
            // HDF5 copies an object's recorded size out of the collection as it is
            if (object > end - p - object_header) {
                out.overflows = true;
                return out;
            }
            out.size[index] = object;
        }
        // HDF5's step: the free space as recorded, any other object padded to 8 bytes
        const std::uint64_t need =
            index == 0 ? object : object_header + ((object + 7) & ~std::uint64_t(7));
        if (need < object || need >= end - p) break;  // past the collection: the walk ends
        p += std::size_t(need);
    }
    return out;
}

/// A variable-length value as HDF5 stores it: its length, and the global heap collection and
/// object index that hold it.
struct vlen_ref {
    std::uint64_t length = 0, address = 0, index = 0;
};

/// Why HDF5 must not read the variable-length strings `refs` of `bytes`, or "". HDF5 allocates
/// and clears each announced length before it looks at the heap, then copies the heap object's
/// recorded size into what it allocated: each object must exist and be exactly as long as its
/// string says, and the strings together within `max_bytes`.
inline std::string check_strings(const std::string& bytes, const std::vector<vlen_ref>& refs,
                                 std::uint64_t max_bytes) {
    const superblock_sizes sb = read_superblock(bytes);
    std::map<std::uint64_t, heap_objects> heaps;
    std::uint64_t total = 0;
    for (const auto& r : refs) {
        if (r.length == 0) continue;  // an empty string reads nothing
        total += r.length;
        if (total > max_bytes)
            return "its strings announce more than the " + std::to_string(max_bytes) +
                   " bytes read";
        const std::uint64_t at = sb.base + r.address;
        if (r.address > bytes.size() || at + 4 > bytes.size() ||
            bytes.compare(std::size_t(at), 4, "GCOL") != 0)
            return "a string lies in a global heap at address " + std::to_string(r.address) +
                   ", where the file has none";
        auto found = heaps.find(at);
        if (found == heaps.end())
            found = heaps.emplace(at, read_heap(bytes, std::size_t(at), sb.length_size)).first;
        const auto object = found->second.size.find(r.index);
        if (object == found->second.size.end() || object->second != r.length)
            return "a string announces " + std::to_string(r.length) + " bytes; object " +
                   std::to_string(r.index) + " of the global heap at byte " + std::to_string(at) +
                   (object == found->second.size.end()
                        ? std::string(" does not exist")
                        : " holds " + std::to_string(object->second));
    }
    return {};
}

/// Reads the object header at `address` of an HDF5 file's bytes (versions 1 and 2, with their
/// continuation chunks), bounded by the bytes: what HDF5 would trust in it, read first.
class object_header {
  public:
    object_header(const std::string& bytes, std::uint64_t address) : bytes_(bytes) {
        sb_ = read_superblock(bytes);
        if (sb_.offset_size == 0) fail("the superblock is not one this reader checks");
        if (address > bytes.size() - sb_.base || sb_.base > bytes.size())
            fail("the object header lies outside the file");
        const std::size_t at = std::size_t(sb_.base + address);
        if (bytes.compare(at, 4, "OHDR") == 0) {
            version_ = 2;
            need(at, 6);
            const unsigned flags = std::uint8_t(bytes[at + 5]);
            creation_order_ = flags & 0x04;
            std::size_t p = at + 6 + ((flags & 0x20) ? 16 : 0) + ((flags & 0x10) ? 4 : 0);
            const std::size_t width = std::size_t(1) << (flags & 3);
            need(p, width);
            chunks_.push_back({p + width, std::size_t(little_endian(bytes, p, width))});
        } else {
            version_ = 1;
            need(at, 16);
            if (std::uint8_t(bytes[at]) != 1) fail("an object header of unknown version");
            chunks_.push_back({at + 16, std::size_t(little_endian(bytes, at + 8, 4))});
        }
        for (std::size_t c = 0; c < chunks_.size(); ++c) {
            if (chunks_.size() > 64) fail("more than 64 header chunks");
            need(chunks_[c].first, chunks_[c].second);
            walk(chunks_[c].first, chunks_[c].second, c == 0);
        }
    }

    /// The lengths the variable-length values of attribute `name` announce, or nothing when the
    /// attribute's message is not in this header (or not variable-length).
    /// Why HDF5 must not decode this header's attributes, or "": HDF5 1.10 copies an
    /// attribute's name up to its NUL and its values by the size its type and shape give,
    /// whatever the message's own size says.
    std::string check_attributes() const {
        for (const auto& [at, size] : attributes_) {
            const std::string why = check_attribute(at, size);
            if (!why.empty())
                return "an attribute message at byte " + std::to_string(at) + " " + why;
        }
        return {};
    }

    /// Why HDF5 must not read this object: its attributes (check_attributes) or, for a group,
    /// the local heap of its link names (local_heap_hazard); or "".
    std::string check() const {
        if (std::string why = check_attributes(); !why.empty()) return why;
        return check_local_heaps();
    }
    std::string check_local_heaps() const {
        for (const std::uint64_t heap : local_heaps_)
            if (std::string why = local_heap_hazard(bytes_, sb_, heap); !why.empty()) return why;
        return {};
    }

    std::optional<std::vector<vlen_ref>> variable_lengths(const std::string& name) const {
        for (const auto& [at, size] : attributes_) {
            auto lengths = attribute_lengths(at, size, name);
            if (lengths) return lengths;
        }
        return std::nullopt;
    }

  private:
    [[noreturn]] static void fail(const std::string& why) { throw io_error(why); }
    void need(std::size_t at, std::size_t n) const {
        if (at > bytes_.size() || n > bytes_.size() - at)
            fail("an object header runs past the end of the file");
    }
    // the messages of one chunk: attributes kept, continuations followed
    void walk(std::size_t at, std::size_t size, bool first) {
        std::size_t p = at, end = at + size;
        if (version_ == 2 && !first) {  // "OCHK", the messages, a checksum
            if (size < 8 || bytes_.compare(at, 4, "OCHK") != 0)
                fail("a continuation chunk without its signature");
            p += 4;
            end -= 4;
        }
        const std::size_t head = version_ == 1 ? 8 : 4 + (creation_order_ ? 2 : 0);
        while (p + head <= end) {
            const std::uint64_t type =
                version_ == 1 ? little_endian(bytes_, p, 2) : std::uint8_t(bytes_[p]);
            const std::size_t length =
                std::size_t(little_endian(bytes_, p + (version_ == 1 ? 2 : 1), 2));
            const std::size_t data = p + head;
            if (length > end - data) fail("a header message runs past its chunk");
            if (type == 0x0C) attributes_.push_back({data, length});
            if (type == 0x11) {  // symbol table: the group's B-tree and local heap addresses
                if (length < 2 * sb_.offset_size) fail("a short symbol table message");
                local_heaps_.push_back(
                    little_endian(bytes_, data + sb_.offset_size, sb_.offset_size));
            }
            if (type == 0x10) {  // continuation: address and length of the next chunk
                if (length < sb_.offset_size + sb_.length_size) fail("a short continuation");
                const std::uint64_t address = little_endian(bytes_, data, sb_.offset_size);
                const std::uint64_t chunk =
                    little_endian(bytes_, data + sb_.offset_size, sb_.length_size);
                if (address > bytes_.size() || chunk > bytes_.size())
                    fail("a continuation chunk lies outside the file");
                chunks_.push_back({std::size_t(sb_.base + address), std::size_t(chunk)});
            }
            p = data + length;
        }
    }
    /// An attribute message read as HDF5 decodes it: `why` says what does not fit, else its
    /// name, type class, element size, value count and where its values start.
    struct attribute_message {
        std::string why, name;
        unsigned type_class = 0;
        std::uint64_t element = 0, base_size = 0, count = 0;
        std::size_t values = 0, end = 0;
        bool shared = false;  ///< its type or shape is kept elsewhere
    };

    attribute_message parse_attribute(std::size_t at, std::size_t size) const {
        attribute_message m;
        const auto bad = [&](std::string why) {
            m.why = std::move(why);
            return m;
        };
        if (size < 8) return bad("is shorter than its header");
        const unsigned version = std::uint8_t(bytes_[at]);
        if (version < 1 || version > 3) return bad("has version " + std::to_string(version));
        m.shared = version >= 2 && (std::uint8_t(bytes_[at + 1]) & 3);
        const std::size_t name_size = std::size_t(little_endian(bytes_, at + 2, 2));
        const std::size_t type_size = std::size_t(little_endian(bytes_, at + 4, 2));
        const std::size_t space_size = std::size_t(little_endian(bytes_, at + 6, 2));
        const auto pad = [&](std::size_t n) { return version == 1 ? (n + 7) / 8 * 8 : n; };
        std::size_t p = at + 8 + (version == 3 ? 1 : 0);
        m.end = at + size;
        if (p > m.end || name_size == 0 || pad(name_size) > m.end - p ||
            bytes_[p + name_size - 1] != '\0')
            return bad("has a name that does not end within it");
        m.name = bytes_.substr(p, name_size - 1);
        // HDF5 decodes a type in full before any value is read (fuzzing found a type it copies
        // past its own buffer): only the types Keras's attributes have pass, numbers and strings
        // of their own, not shared ones
        if (m.shared) return bad("has a shared type or shape, which Keras files do not use");
        p += pad(name_size);
        if (type_size < 8 || pad(type_size) > m.end - p)
            return bad("has a type that does not fit in it");
        m.type_class = std::uint8_t(bytes_[p]) & 0x0F;
        const bool number_or_string = m.type_class == 0 || m.type_class == 1 || m.type_class == 3;
        const bool variable_length_string = m.type_class == 9 && type_size >= 16 &&
                                            ((std::uint8_t(bytes_[p + 8]) & 0x0F) == 0 ||
                                             (std::uint8_t(bytes_[p + 8]) & 0x0F) == 3);
        if (!number_or_string && !variable_length_string)
            return bad("has a type of class " + std::to_string(m.type_class) +
                       "; Keras's attributes are numbers and strings");
        m.element = little_endian(bytes_, p + 4, 4);
        // a variable-length type carries its element type next. Its values are stored as a
        // length, a heap address and an index, which HDF5 decodes whatever size the type
        // announces, while it keeps only the announced size of each (fuzzing found a 6-byte one
        // read as 16, past HDF5's buffer)
        if (m.type_class == 9) {
            m.base_size = little_endian(bytes_, p + 12, 4);
            const std::uint64_t stored = 4 + sb_.offset_size + 4;
            if (m.element != stored)
                return bad("has variable-length values of " + std::to_string(m.element) +
                           " bytes; HDF5 stores them in " + std::to_string(stored));
        }
        p += pad(type_size);
        if (space_size < 4 || pad(space_size) > m.end - p)
            return bad("has a shape that does not fit");
        const unsigned space_version = std::uint8_t(bytes_[p]);
        const std::size_t rank = std::uint8_t(bytes_[p + 1]);
        const std::size_t dims_at = p + (space_version == 1 ? 8 : 4);
        if (rank > 32 || dims_at > p + space_size ||
            rank * sb_.length_size > p + space_size - dims_at)
            return bad("has a shape that does not fit");
        m.count = space_version >= 2 && std::uint8_t(bytes_[p + 3]) == 2 ? 0 : 1;
        for (std::size_t d = 0; d < rank; ++d) {
            const std::uint64_t n =
                little_endian(bytes_, dims_at + d * sb_.length_size, sb_.length_size);
            if (n != 0 && m.count > (std::uint64_t(1) << 32) / n) return bad("has too many values");
            m.count *= n;
        }
        m.values = p + pad(space_size);
        if (m.element != 0 && m.count > (m.end - m.values) / m.element)
            return bad("holds " + std::to_string(m.count) + " values of " +
                       std::to_string(m.element) + " bytes in " + std::to_string(m.end - m.values));
        return m;
    }

    std::string check_attribute(std::size_t at, std::size_t size) const {
        return parse_attribute(at, size).why;
    }

    std::optional<std::vector<vlen_ref>> attribute_lengths(std::size_t at, std::size_t size,
                                                           const std::string& name) const {
        const attribute_message m = parse_attribute(at, size);
        if (!m.why.empty() || m.name != name) return std::nullopt;
        if (m.shared) fail("attribute '" + name + "' has a shared type or shape");
        if (m.type_class != 9) return std::vector<vlen_ref>{};  // not variable-length
        // HDF5 allocates the announced length times the element type's size
        if (m.base_size != 1)
            fail("attribute '" + name + "' is variable-length with elements of " +
                 std::to_string(m.base_size) + " bytes; strings have 1");
        const std::size_t element = 4 + sb_.offset_size + 4;  // length, heap address, index
        if (m.count > (m.end - m.values) / element) fail("attribute '" + name + "' is cut short");
        std::vector<vlen_ref> refs;
        for (std::uint64_t i = 0; i < m.count; ++i) {
            const std::size_t e = m.values + std::size_t(i) * element;
            refs.push_back({little_endian(bytes_, e, 4),
                            little_endian(bytes_, e + 4, sb_.offset_size),
                            little_endian(bytes_, e + 4 + sb_.offset_size, 4)});
        }
        return refs;
    }

    const std::string& bytes_;
    superblock_sizes sb_;
    unsigned version_ = 1;
    bool creation_order_ = false;
    std::vector<std::pair<std::size_t, std::size_t>> chunks_;
    std::vector<std::pair<std::size_t, std::size_t>> attributes_;
    std::vector<std::uint64_t> local_heaps_;
};

/// Why HDF5 must not open `bytes`, or "": a root group's object header that does not lie in the
/// file, a global heap collection on which HDF5 1.10's reader loops for ever
/// (heap_objects::stalls) or that holds an object larger than itself, a root group's local heap
/// that local_heap_hazard refuses.
inline std::string hdf5_hazard(const std::string& bytes) {
    const superblock_sizes sb = read_superblock(bytes);
    if (sb.offset_size == 0) return {};  // HDF5 refuses the file itself
    // HDF5 allocates what the root group's header announces as it opens the file, and reads
    // the root group's link names, from the heap its header names or the superblock's cache
    std::optional<object_header> root;
    try {
        root.emplace(bytes, sb.root);
    } catch (const io_error& e) {
        return std::string("the root group's object header: ") + e.what();
    }
    for (const std::size_t at : global_heaps(bytes)) {
        const heap_objects heap = read_heap(bytes, at, sb.length_size);
        if (heap.stalls)
            return "the global heap at byte " + std::to_string(at) +
                   " holds an empty free-space object, on which HDF5's reader never ends";
        if (heap.overflows)
            return "the global heap at byte " + std::to_string(at) +
                   " holds an object larger than itself, which HDF5 would copy as it is";
        if (heap.wraps)
            return "the global heap at byte " + std::to_string(at) +
                   " records free space past its end, from which HDF5's reader steps outside it";
    }
    if (std::string why = root->check_local_heaps(); !why.empty()) return why;
    if (sb.cached_root_heap)
        if (std::string why = local_heap_hazard(bytes, sb, *sb.cached_root_heap); !why.empty())
            return why;
    return {};
}

}  // namespace detail

inline file::file(std::string bytes_in, std::string name, limits lim)
    : bytes_(std::move(bytes_in)), name_(std::move(name)), lim_(lim) {
    const std::string& bytes = bytes_;
    std::lock_guard<std::mutex> lock(library_mutex());
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported by exceptions only
    // a file naming a filter HDF5 lacks must not make it load code from its plugin directories
    H5PLset_loading_state(0);
    if (bytes.size() < 8 || bytes.compare(0, 8, "\x89HDF\r\n\x1a\n", 8) != 0)
        throw io_error(detail::quoted(name_) +
                       " is not an HDF5 file (its first 8 bytes are not HDF5's signature)");
    if (const std::string hazard = detail::hdf5_hazard(bytes); !hazard.empty())
        throw io_error(detail::quoted(name_) + " is damaged: " + hazard);
    detail::id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    if (!fapl || H5Pset_fapl_core(fapl.get(), 1 << 16, 0) < 0 ||
        H5Pset_file_image(fapl.get(), const_cast<char*>(bytes.data()), bytes.size()) < 0)
        throw io_error(detail::quoted(name_) + ": HDF5 could not take the file's bytes");
    // the core driver takes the name as the file's identity (and may look for it on disk):
    // each image gets a name of its own that no path has
    static std::uint64_t images = 0;
    const std::string image_name = "xkeras-hdf5-image-" + std::to_string(++images);
    h_ = detail::id(H5Fopen(image_name.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
    if (!h_)
        throw io_error(detail::quoted(name_) +
                       " is damaged: HDF5 cannot open it (a truncated or altered file)");
}

inline group file::root() const {
    std::lock_guard<std::mutex> lock(library_mutex());
    detail::id g(H5Gopen2(h_.get(), "/", H5P_DEFAULT), H5Gclose);
    if (!g) throw io_error(detail::quoted(name_) + " is damaged: its root group cannot be read");
    group out(this, std::move(g), "");
    out.check_header();
    return out;
}

inline void group::check_header() const {
    // called with the library lock held
    H5O_info_t info{};
    if (H5Oget_info2(h_.get(), &info, H5O_INFO_BASIC) < 0)
        throw io_error(describe() + " is damaged: its object header cannot be read");
    std::string why;
    try {
        why = detail::object_header(file_->bytes(), info.addr).check();
    } catch (const io_error& e) {
        why = e.what();
    }
    if (!why.empty()) throw io_error(describe() + " is damaged: " + why);
}

inline std::string group::describe() const {
    return detail::quoted(file_->name()) + ": " + (path_.empty() ? "/" : path_);
}

inline std::string group::where(const std::string& name) const {
    return detail::quoted(file_->name()) + ": " + path_ + "/" + xkeras::detail::excerpt(name, 200);
}

inline std::vector<std::string> group::children() const {
    std::lock_guard<std::mutex> lock(library_mutex());
    H5G_info_t info{};
    if (H5Gget_info(h_.get(), &info) < 0)
        throw io_error(describe() + " is damaged: its links cannot be listed");
    if (info.nlinks > file_->bounds().max_links)
        throw io_error(describe() + " has " + std::to_string(info.nlinks) +
                       " links, more than the " + std::to_string(file_->bounds().max_links) +
                       " a Keras file has");
    std::vector<std::string> out;
    for (hsize_t i = 0; i < info.nlinks; ++i) {
        const ssize_t n = H5Lget_name_by_idx(h_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr,
                                             0, H5P_DEFAULT);
        if (n < 0 || std::size_t(n) > file_->bounds().max_name_bytes)
            throw io_error(describe() + " is damaged: link " + std::to_string(i) +
                           " has no readable name");
        std::string name(std::size_t(n) + 1, '\0');
        if (H5Lget_name_by_idx(h_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(),
                               name.size(), H5P_DEFAULT) != n)
            throw io_error(describe() + " is damaged: link " + std::to_string(i) +
                           " has no readable name");
        name.resize(std::size_t(n));
        out.push_back(std::move(name));
    }
    return out;
}

inline bool group::has(const std::string& name) const {
    // H5Lexists would parse a name with '/' as a path: only plain names are looked up
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
        return false;
    std::lock_guard<std::mutex> lock(library_mutex());
    return H5Lexists(h_.get(), name.c_str(), H5P_DEFAULT) > 0;
}

inline detail::id group::open_object(const std::string& name, H5I_type_t want,
                                     const char* what) const {
    if (!has(name)) throw io_error(where(name) + " is missing (expected a " + what + ")");
    std::lock_guard<std::mutex> lock(library_mutex());
    // HDF5 allocates what the object's header announces as soon as it opens it: the header is
    // checked against the file's bytes first, found through the link alone. Keras writes hard
    // links only; an external one would make HDF5 open another file.
    H5L_info_t link{};
    if (H5Lget_info(h_.get(), name.c_str(), &link, H5P_DEFAULT) < 0)
        throw io_error(where(name) + " is damaged: its link cannot be read");
    if (link.type != H5L_TYPE_HARD)
        throw io_error(where(name) + " is a soft or external link; a Keras file holds the " + what +
                       " itself");
    std::string why;
    try {
        why = detail::object_header(file_->bytes(), link.u.address).check();
    } catch (const io_error& e) {
        why = e.what();
    }
    if (!why.empty()) throw io_error(where(name) + " is damaged: " + why);
    detail::id h(H5Oopen(h_.get(), name.c_str(), H5P_DEFAULT), H5Oclose);
    if (!h) throw io_error(where(name) + " is damaged: HDF5 cannot open it");
    if (H5Iget_type(h.get()) != want) throw io_error(where(name) + " is not a " + what);
    return h;
}

inline group group::child(const std::string& name) const {
    // open_object has checked its header, attributes included
    return group(file_, open_object(name, H5I_GROUP, "group"), path_ + "/" + name);
}

inline std::pair<group, std::string> group::locate(const std::string& path) const {
    std::vector<std::string> parts;
    for (std::size_t begin = 0;;) {
        const std::size_t end = path.find('/', begin);
        parts.push_back(path.substr(begin, end == std::string::npos ? end : end - begin));
        const std::string& part = parts.back();
        if (part.empty() || part == "." || part == "..")
            throw io_error(where(path) + ": a path with an empty, '.' or '..' part names nothing");
        if (parts.size() > file_->bounds().max_path_depth)
            throw io_error(describe() + ": the path " + detail::quoted(path) + " has more than " +
                           std::to_string(file_->bounds().max_path_depth) + " parts");
        if (end == std::string::npos) break;
        begin = end + 1;
    }
    group g = [&] {
        std::lock_guard<std::mutex> lock(library_mutex());
        detail::id self(H5Oopen(h_.get(), ".", H5P_DEFAULT), H5Oclose);
        if (!self) throw io_error(describe() + " is damaged: HDF5 cannot open it again");
        return group(file_, std::move(self), path_);
    }();
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) g = g.child(parts[i]);
    return {std::move(g), parts.back()};
}

inline bool group::has_attribute(const std::string& name) const {
    std::lock_guard<std::mutex> lock(library_mutex());
    return H5Aexists(h_.get(), name.c_str()) > 0;
}

inline std::vector<std::string> group::strings(const std::string& name) const {
    const std::string at = where("@" + name);
    if (!has_attribute(name)) throw io_error(at + " is missing (expected strings)");
    std::lock_guard<std::mutex> lock(library_mutex());
    detail::id a(H5Aopen(h_.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
    if (!a) throw io_error(at + " is damaged: HDF5 cannot open it");
    detail::id space(H5Aget_space(a.get()), H5Sclose);
    detail::id type(H5Aget_type(a.get()), H5Tclose);
    if (!space || !type) throw io_error(at + " is damaged: its shape or type cannot be read");
    const int rank = H5Sget_simple_extent_ndims(space.get());
    const hssize_t count = H5Sget_simple_extent_npoints(space.get());
    if (rank < 0 || rank > 1 || count < 0)
        throw io_error(at + " must be a string or a list of strings, got an array of rank " +
                       std::to_string(rank));
    const auto n = std::size_t(count);
    if (n > file_->bounds().max_strings)
        throw io_error(at + " holds " + std::to_string(n) + " strings, more than the " +
                       std::to_string(file_->bounds().max_strings) + " allowed");
    const H5T_class_t cls = H5Tget_class(type.get());
    if (cls != H5T_STRING) {
        if (n == 0) return {};  // Keras 2's empty weight_names: an empty float64 array
        throw io_error(at + " must hold strings, got numbers or other data");
    }
    std::vector<std::string> out;
    const htri_t variable = H5Tis_variable_str(type.get());
    if (variable < 0) throw io_error(at + " is damaged: its string type cannot be read");
    if (variable) {
        // HDF5 allocates and clears what each value announces before it reads the value: the
        // announced lengths are read from the attribute's message first, and bounded
        H5O_info_t info{};
        if (H5Oget_info2(h_.get(), &info, H5O_INFO_BASIC) < 0)
            throw io_error(at + " is damaged: its object cannot be found");
        const auto lengths = [&] {
            try {
                return detail::object_header(file_->bytes(), info.addr).variable_lengths(name);
            } catch (const io_error& e) {
                throw io_error(at + " is damaged: " + e.what());
            }
        }();
        if (!lengths || lengths->size() != n)
            throw io_error(at +
                           ": its strings are not where HDF5 keeps them in its object's "
                           "header (a damaged file, or dense attribute storage, which is "
                           "not read)");
        const std::uint64_t bound =
            std::min<std::uint64_t>(file_->bounds().max_string_bytes, file_->bytes().size());
        if (const std::string why = detail::check_strings(file_->bytes(), *lengths, bound);
            !why.empty())
            throw io_error(at + " is damaged: " + why);
        detail::id mem(H5Tcopy(H5T_C_S1), H5Tclose);
        if (!mem || H5Tset_size(mem.get(), H5T_VARIABLE) < 0 ||
            H5Tset_cset(mem.get(), H5Tget_cset(type.get())) < 0)
            throw io_error(at + ": HDF5 cannot make a string type");
        std::vector<char*> ptrs(n, nullptr);
        if (n > 0 && H5Aread(a.get(), mem.get(), ptrs.data()) < 0)
            throw io_error(at + " is damaged: its strings cannot be read");
        std::size_t total = 0;
        bool too_long = false;
        for (char* p : ptrs) {
            const std::size_t len = p ? std::strlen(p) : 0;
            total += len;
            if (total > file_->bounds().max_string_bytes) too_long = true;
            if (!too_long) out.emplace_back(p ? p : "", len);
        }
#if H5_VERSION_GE(1, 12, 0)
        H5Treclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
#else
        H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
#endif
        if (too_long)
            throw io_error(at + " holds more than " +
                           std::to_string(file_->bounds().max_string_bytes) + " bytes of text");
        return out;
    }
    const std::size_t size = H5Tget_size(type.get());
    if (size == 0 || (n > 0 && size > file_->bounds().max_string_bytes / n))
        throw io_error(at + " holds more than " + std::to_string(file_->bounds().max_string_bytes) +
                       " bytes of text");
    std::string buffer(n * size, '\0');
    if (n > 0 && H5Aread(a.get(), type.get(), buffer.data()) < 0)
        throw io_error(at + " is damaged: its strings cannot be read");
    for (std::size_t i = 0; i < n; ++i) {
        std::string s = buffer.substr(i * size, size);
        s.resize(std::min(s.find('\0'), s.size()));
        out.push_back(std::move(s));
    }
    return out;
}

inline dataset_info group::dataset(const std::string& name) const {
    detail::id d = open_object(name, H5I_DATASET, "dataset");
    std::lock_guard<std::mutex> lock(library_mutex());
    detail::id space(H5Dget_space(d.get()), H5Sclose);
    detail::id type(H5Dget_type(d.get()), H5Tclose);
    if (!space || !type)
        throw io_error(where(name) + " is damaged: its shape or type is unreadable");
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0 || std::size_t(rank) > file_->bounds().max_rank)
        throw io_error(where(name) + " has rank " + std::to_string(rank) + "; at most " +
                       std::to_string(file_->bounds().max_rank) + " is read");
    std::vector<hsize_t> dims(std::size_t(rank) + 1);
    if (H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) != rank)
        throw io_error(where(name) + " is damaged: its shape is unreadable");
    dataset_info info;
    for (int i = 0; i < rank; ++i) info.shape.push_back(std::size_t(dims[std::size_t(i)]));
    info.type_class = H5Tget_class(type.get());
    info.type_size = H5Tget_size(type.get());
    return info;
}

template <class T>
tensor<T> group::read(const std::string& name, const shape_t& expected) const {
    const dataset_info info = dataset(name);
    if (info.type_class != H5T_FLOAT || (info.type_size != 4 && info.type_size != 8))
        throw io_error(where(name) + " holds " + info.type_name() +
                       " values; a weight must be float32 or float64");
    if (info.shape != expected)
        throw io_error(where(name) + " has shape " + shape_str(info.shape) +
                       ", the model's weight has shape " + shape_str(expected));
    tensor<T> out(expected);
    detail::id d = open_object(name, H5I_DATASET, "dataset");
    std::lock_guard<std::mutex> lock(library_mutex());
    check_storage(d.get(), name, info);
    const hid_t mem = sizeof(T) == 8 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
    if (out.size() > 0 && H5Dread(d.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
        throw io_error(where(name) + " is damaged: its values cannot be read");
    return out;
}

inline std::int64_t group::read_integer(const std::string& name) const {
    const dataset_info info = dataset(name);
    if (!info.shape.empty() || info.type_class != H5T_INTEGER || info.type_size > 8)
        throw io_error(where(name) + " must be a scalar integer, got " + info.type_name() +
                       " of shape " + shape_str(info.shape));
    std::int64_t v = 0;
    detail::id d = open_object(name, H5I_DATASET, "dataset");
    std::lock_guard<std::mutex> lock(library_mutex());
    check_storage(d.get(), name, info);
    if (H5Dread(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0)
        throw io_error(where(name) + " is damaged: its value cannot be read");
    return v;
}

inline void group::check_storage(hid_t d, const std::string& name, const dataset_info& info) const {
    detail::id plist(H5Dget_create_plist(d), H5Pclose);
    if (!plist) throw io_error(where(name) + " is damaged: its storage properties are unreadable");
    const H5D_layout_t layout = H5Pget_layout(plist.get());
    if (layout == H5D_CONTIGUOUS || layout == H5D_CHUNKED) return;
    if (layout != H5D_COMPACT)
        throw io_error(where(name) + " is stored in a layout Keras never writes (" +
                       (layout == H5D_VIRTUAL ? std::string("virtual, which reads other files")
                                              : "class " + std::to_string(int(layout))) +
                       "); expected contiguous, chunked or compact values");
    const std::size_t needed = shape_size(info.shape) * info.type_size;  // the model's shape
    const hsize_t stored = H5Dget_storage_size(d);
    if (stored != needed)
        throw io_error(where(name) + " is damaged: its compact storage holds " +
                       std::to_string(stored) + " bytes, its shape and type need " +
                       std::to_string(needed));
}

}  // namespace xkeras::keras_files::hdf5
