#include "boot/aml.h"

#include <cassert>

namespace vessel::aml {

namespace {

constexpr uint8_t kZeroOp = 0x00;
constexpr uint8_t kOneOp = 0x01;
constexpr uint8_t kNameOp = 0x08;
constexpr uint8_t kBytePrefix = 0x0A;
constexpr uint8_t kWordPrefix = 0x0B;
constexpr uint8_t kDWordPrefix = 0x0C;
constexpr uint8_t kStringPrefix = 0x0D;
constexpr uint8_t kQWordPrefix = 0x0E;
constexpr uint8_t kScopeOp = 0x10;
constexpr uint8_t kBufferOp = 0x11;
constexpr uint8_t kPackageOp = 0x12;
constexpr uint8_t kDualNamePrefix = 0x2E;
constexpr uint8_t kMultiNamePrefix = 0x2F;
constexpr uint8_t kExtOpPrefix = 0x5B;
constexpr uint8_t kDeviceOp = 0x82;  // after ExtOpPrefix
constexpr uint8_t kRootChar = '\\';
constexpr uint8_t kParentPrefixChar = '^';

// Small resource descriptor tags: bits 6-3 item name, bits 2-0 length.
constexpr uint8_t kSmallIrqTag = (0x4 << 3) | 2;
constexpr uint8_t kSmallIoTag = (0x8 << 3) | 7;
constexpr uint8_t kSmallEndTag = (0xF << 3) | 1;
constexpr uint8_t kIoDecode16 = 0x01;
// Large resource descriptor tags (bit 7 set) and their fixed lengths.
constexpr uint8_t kLargeMemory32Fixed = 0x86;
constexpr uint8_t kLargeDWordAddress = 0x87;
constexpr uint8_t kLargeWordAddress = 0x88;
constexpr uint16_t kMemory32FixedLength = 9;
constexpr uint16_t kWordAddressLength = 13;
constexpr uint16_t kDWordAddressLength = 23;
// Address space descriptors: resource types, general flags (bit 3 _MAF, bit 2
// _MIF; bit 0 clear: the device produces the range), type-specific flags.
constexpr uint8_t kAddressMemory = 0, kAddressIo = 1, kAddressBus = 2;
constexpr uint8_t kAddressFixedProducer = 0x0C;
constexpr uint8_t kIoEntireRange = 0x03;
constexpr uint8_t kMemoryReadWrite = 0x01;

void append(Bytes& out, const Bytes& more) {
  out.insert(out.end(), more.begin(), more.end());
}

void append_le(Bytes& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; i++) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

[[maybe_unused]] bool lead_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || c == '_';
}
[[maybe_unused]] bool name_char(char c) {
  return lead_name_char(c) || (c >= '0' && c <= '9');
}

void append_name_seg(Bytes& out, std::string_view seg) {
  assert(!seg.empty() && seg.size() <= 4 && lead_name_char(seg[0]));
  for (size_t i = 0; i < 4; i++) {
    char c = i < seg.size() ? seg[i] : '_';
    assert(name_char(c));
    out.push_back(static_cast<uint8_t>(c));
  }
}

// Opcode bytes, PkgLength, then the body.
Bytes with_pkg_length(const Bytes& opcode, const Bytes& body) {
  Bytes out = opcode;
  append(out, pkg_length(static_cast<uint32_t>(body.size())));
  append(out, body);
  return out;
}

}  // namespace

Bytes pkg_length(uint32_t content_length) {
  if (content_length + 1 <= 0x3F) return {static_cast<uint8_t>(content_length + 1)};
  for (uint32_t extra = 1; extra <= 3; extra++) {
    uint64_t total = uint64_t{content_length} + 1 + extra;
    if (total < (1ull << (4 + 8 * extra))) {
      Bytes out{static_cast<uint8_t>((extra << 6) | (total & 0xF))};
      for (uint32_t i = 0; i < extra; i++)
        out.push_back(static_cast<uint8_t>(total >> (4 + 8 * i)));
      return out;
    }
  }
  assert(false && "AML package longer than 2^28 bytes");
  return {};
}

Bytes integer(uint64_t value) {
  if (value == 0) return {kZeroOp};
  if (value == 1) return {kOneOp};
  Bytes out;
  if (value <= 0xFF) {
    out.push_back(kBytePrefix);
    append_le(out, value, 1);
  } else if (value <= 0xFFFF) {
    out.push_back(kWordPrefix);
    append_le(out, value, 2);
  } else if (value <= 0xFFFF'FFFF) {
    out.push_back(kDWordPrefix);
    append_le(out, value, 4);
  } else {
    out.push_back(kQWordPrefix);
    append_le(out, value, 8);
  }
  return out;
}

Bytes dword(uint32_t value) {
  Bytes out{kDWordPrefix};
  append_le(out, value, 4);
  return out;
}

Bytes string(std::string_view text) {
  Bytes out{kStringPrefix};
  for (char c : text) {
    assert(c > 0 && c < 0x80);
    out.push_back(static_cast<uint8_t>(c));
  }
  out.push_back(0);
  return out;
}

Bytes name_string(std::string_view path) {
  Bytes out;
  if (!path.empty() && path[0] == '\\') {
    out.push_back(kRootChar);
    path.remove_prefix(1);
  } else {
    while (!path.empty() && path[0] == '^') {
      out.push_back(kParentPrefixChar);
      path.remove_prefix(1);
    }
  }
  std::vector<std::string_view> segs;
  while (!path.empty()) {
    size_t dot = path.find('.');
    segs.push_back(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  }
  if (segs.empty()) {
    out.push_back(0);  // NullName
    return out;
  }
  if (segs.size() == 2) {
    out.push_back(kDualNamePrefix);
  } else if (segs.size() > 2) {
    assert(segs.size() <= 255);
    out.push_back(kMultiNamePrefix);
    out.push_back(static_cast<uint8_t>(segs.size()));
  }
  for (std::string_view seg : segs) append_name_seg(out, seg);
  return out;
}

Bytes name(std::string_view path, const Bytes& value) {
  Bytes out{kNameOp};
  append(out, name_string(path));
  append(out, value);
  return out;
}

Bytes package(const std::vector<Bytes>& elements) {
  assert(elements.size() <= 255);
  Bytes body{static_cast<uint8_t>(elements.size())};
  for (const Bytes& e : elements) append(body, e);
  return with_pkg_length({kPackageOp}, body);
}

Bytes buffer(const Bytes& data) {
  Bytes body = integer(data.size());
  append(body, data);
  return with_pkg_length({kBufferOp}, body);
}

Bytes scope(std::string_view path, const std::vector<Bytes>& terms) {
  Bytes body = name_string(path);
  for (const Bytes& t : terms) append(body, t);
  return with_pkg_length({kScopeOp}, body);
}

Bytes device(std::string_view path, const std::vector<Bytes>& terms) {
  Bytes body = name_string(path);
  for (const Bytes& t : terms) append(body, t);
  return with_pkg_length({kExtOpPrefix, kDeviceOp}, body);
}

Bytes eisa_id(std::string_view id) {
  assert(id.size() == 7);
  auto letter = [&](int i) {
    assert(id[i] >= 'A' && id[i] <= 'Z');
    return static_cast<uint32_t>(id[i] - 0x40);
  };
  auto hex = [&](int i) {
    char c = id[i];
    if (c >= '0' && c <= '9') return static_cast<uint32_t>(c - '0');
    assert(c >= 'A' && c <= 'F');
    return static_cast<uint32_t>(c - 'A' + 10);
  };
  // Big-endian in the spec's bit numbering: byte 0 holds the first letter's
  // 5 bits and the second's top 2, byte 1 the rest of the second and the third.
  uint32_t letters = (letter(0) << 10) | (letter(1) << 5) | letter(2);
  uint32_t digits = (hex(3) << 12) | (hex(4) << 8) | (hex(5) << 4) | hex(6);
  uint32_t value = ((letters >> 8) & 0xFF) | ((letters & 0xFF) << 8) | ((digits >> 8) << 16) |
                   ((digits & 0xFF) << 24);
  return dword(value);
}

Bytes io_port(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length) {
  Bytes out{kSmallIoTag, kIoDecode16};
  append_le(out, min, 2);
  append_le(out, max, 2);
  out.push_back(alignment);
  out.push_back(length);
  return out;
}

Bytes irq_no_flags(uint8_t irq) {
  assert(irq < 16);
  Bytes out{kSmallIrqTag};
  append_le(out, 1u << irq, 2);
  return out;
}

static Bytes word_address(uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max) {
  Bytes out{kLargeWordAddress};
  append_le(out, kWordAddressLength, 2);
  out.push_back(type);
  out.push_back(kAddressFixedProducer);
  out.push_back(type_flags);
  append_le(out, 0, 2);  // granularity
  append_le(out, min, 2);
  append_le(out, max, 2);
  append_le(out, 0, 2);  // translation offset
  append_le(out, uint32_t{max} - min + 1, 2);
  return out;
}

Bytes word_bus_number(uint16_t min, uint16_t max) {
  return word_address(kAddressBus, 0, min, max);
}

Bytes word_io(uint16_t min, uint16_t max) {
  return word_address(kAddressIo, kIoEntireRange, min, max);
}

Bytes dword_memory(uint32_t min, uint32_t max) {
  Bytes out{kLargeDWordAddress};
  append_le(out, kDWordAddressLength, 2);
  out.push_back(kAddressMemory);
  out.push_back(kAddressFixedProducer);
  out.push_back(kMemoryReadWrite);
  append_le(out, 0, 4);  // granularity
  append_le(out, min, 4);
  append_le(out, max, 4);
  append_le(out, 0, 4);  // translation offset
  append_le(out, uint64_t{max} - min + 1, 4);
  return out;
}

Bytes memory32_fixed(uint32_t base, uint32_t length) {
  Bytes out{kLargeMemory32Fixed};
  append_le(out, kMemory32FixedLength, 2);
  out.push_back(kMemoryReadWrite);
  append_le(out, base, 4);
  append_le(out, length, 4);
  return out;
}

Bytes resource_template(const std::vector<Bytes>& descriptors) {
  Bytes data;
  for (const Bytes& d : descriptors) append(data, d);
  data.push_back(kSmallEndTag);
  data.push_back(0);  // checksum 0: "treat as if the checksum operation succeeded"
  return buffer(data);
}

}  // namespace vessel::aml
