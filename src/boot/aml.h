// A small AML (ACPI Machine Language) encoder: the handful of terms Vessel's
// DSDT needs, encoded from the ACPI 6.x spec's grammar (chapter 20, "ACPI
// Machine Language Specification"). Each function returns the encoded bytes
// of one term; nest them to build a definition block's term list.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace vessel::aml {

using Bytes = std::vector<uint8_t>;

// PkgLength for a package whose contents (after the PkgLength) are
// `content_length` bytes: the encoded length counts its own bytes too.
// 1 byte up to 63, then 2, 3 or 4 bytes (lead byte bits 7-6 = extra bytes,
// bits 3-0 = low nibble, each extra byte the next 8 bits).
Bytes pkg_length(uint32_t content_length);

// ZeroOp, OneOp, or the smallest of BytePrefix/WordPrefix/DWordPrefix/QWordPrefix.
Bytes integer(uint64_t value);
// The same value always as DWordPrefix (e.g. for EISA IDs).
Bytes dword(uint32_t value);
// StringPrefix, ASCII characters, NUL.
Bytes string(std::string_view text);

// NameString: optional '\' (root) or '^' (parent) prefixes, then name
// segments separated by '.'; segments shorter than 4 characters are padded
// with '_' ("_S5" -> "_S5_"). Two segments use DualNamePrefix, more use
// MultiNamePrefix, none is NullName. Names are the program's, not a guest's:
// an invalid one is a programming error.
Bytes name_string(std::string_view path);

// DefName: NameOp NameString DataRefObject.
Bytes name(std::string_view path, const Bytes& value);
// DefPackage: PackageOp PkgLength NumElements PackageElementList.
Bytes package(const std::vector<Bytes>& elements);
// DefBuffer: BufferOp PkgLength BufferSize ByteList.
Bytes buffer(const Bytes& data);
// DefScope: ScopeOp PkgLength NameString TermList.
Bytes scope(std::string_view path, const std::vector<Bytes>& terms);
// DefDevice: ExtOpPrefix DeviceOp PkgLength NameString TermList.
Bytes device(std::string_view path, const std::vector<Bytes>& terms);

// EisaId("PNP0501"): three letters compressed to 5 bits each, then four hex
// digits, as the 32-bit value ASL's EisaId() produces, DWord-encoded.
Bytes eisa_id(std::string_view id);

// Resource descriptors (ACPI 6.x 6.4 "Resource Data Types for ACPI").
// Small I/O Port Descriptor, 16-bit decode.
Bytes io_port(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length);
// Small IRQ Descriptor without the information byte (edge, active high).
Bytes irq_no_flags(uint8_t irq);
// Large descriptors. Address space descriptors describe a window a bridge
// produces (general flags: producer, fixed minimum and maximum; granularity
// and translation 0, length max - min + 1).
// WordBusNumber (Word Address Space Descriptor, resource type 2).
Bytes word_bus_number(uint16_t min, uint16_t max);
// WordIO (resource type 1), covering ISA and non-ISA ranges.
Bytes word_io(uint16_t min, uint16_t max);
// DWordMemory (DWord Address Space Descriptor, resource type 0),
// read/write, non-cacheable.
Bytes dword_memory(uint32_t min, uint32_t max);
// Memory32Fixed(ReadWrite, base, length).
Bytes memory32_fixed(uint32_t base, uint32_t length);
// ResourceTemplate(): a Buffer holding the descriptors and an End Tag.
Bytes resource_template(const std::vector<Bytes>& descriptors);

}  // namespace vessel::aml
