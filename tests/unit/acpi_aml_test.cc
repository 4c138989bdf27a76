#include <gtest/gtest.h>

#include "boot/aml.h"

namespace vessel {
namespace {

using aml::Bytes;

TEST(AmlPkgLength, OneByteFormUpTo63) {
  EXPECT_EQ(aml::pkg_length(0), (Bytes{0x01}));
  EXPECT_EQ(aml::pkg_length(7), (Bytes{0x08}));
  EXPECT_EQ(aml::pkg_length(62), (Bytes{0x3F}));
}

TEST(AmlPkgLength, TwoByteForm) {
  // 63 bytes of content + 2 length bytes = 65 = 0x41: lead 0x40 | 0x1, then 0x04.
  EXPECT_EQ(aml::pkg_length(63), (Bytes{0x41, 0x04}));
  // Largest two-byte length: 4095 in total.
  EXPECT_EQ(aml::pkg_length(4093), (Bytes{0x4F, 0xFF}));
}

TEST(AmlPkgLength, ThreeAndFourByteForms) {
  EXPECT_EQ(aml::pkg_length(4094), (Bytes{0x81, 0x00, 0x01}));               // 4097
  EXPECT_EQ(aml::pkg_length(0xFFFFF - 3), (Bytes{0x8F, 0xFF, 0xFF}));        // 2^20 - 1
  EXPECT_EQ(aml::pkg_length(0xFFFFF - 2), (Bytes{0xC1, 0x00, 0x00, 0x01}));  // 0x100001
}

TEST(AmlInteger, UsesTheSmallestEncoding) {
  EXPECT_EQ(aml::integer(0), (Bytes{0x00}));  // ZeroOp
  EXPECT_EQ(aml::integer(1), (Bytes{0x01}));  // OneOp
  EXPECT_EQ(aml::integer(5), (Bytes{0x0A, 0x05}));
  EXPECT_EQ(aml::integer(0xFF), (Bytes{0x0A, 0xFF}));
  EXPECT_EQ(aml::integer(0x3F8), (Bytes{0x0B, 0xF8, 0x03}));
  EXPECT_EQ(aml::integer(0x10000), (Bytes{0x0C, 0x00, 0x00, 0x01, 0x00}));
  EXPECT_EQ(aml::integer(0x100000000ull),
            (Bytes{0x0E, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}));
  EXPECT_EQ(aml::dword(1), (Bytes{0x0C, 0x01, 0x00, 0x00, 0x00}));
}

TEST(AmlString, IsNulTerminated) {
  EXPECT_EQ(aml::string("AB"), (Bytes{0x0D, 'A', 'B', 0x00}));
}

TEST(AmlNameString, RootParentDualAndMulti) {
  EXPECT_EQ(aml::name_string("\\_S5"), (Bytes{'\\', '_', 'S', '5', '_'}));
  EXPECT_EQ(aml::name_string("COM1"), (Bytes{'C', 'O', 'M', '1'}));
  EXPECT_EQ(aml::name_string("^FOO"), (Bytes{'^', 'F', 'O', 'O', '_'}));
  EXPECT_EQ(aml::name_string("_SB.COM1"), (Bytes{0x2E, '_', 'S', 'B', '_', 'C', 'O', 'M', '1'}));
  EXPECT_EQ(aml::name_string("\\_SB.PCI0.ISA"),
            (Bytes{'\\', 0x2F, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'I', 'S', 'A', '_'}));
  EXPECT_EQ(aml::name_string("\\"), (Bytes{'\\', 0x00}));
}

TEST(AmlName, S5PackageEncoding) {
  // Name (\_S5, Package (4) { 5, 5, 0, 0 }) as iASL emits it.
  Bytes s5 = aml::name(
      "\\_S5", aml::package({aml::integer(5), aml::integer(5), aml::integer(0), aml::integer(0)}));
  EXPECT_EQ(s5, (Bytes{0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 0x05, 0x0A, 0x05,
                       0x00, 0x00}));
}

TEST(AmlPackage, LongPackageUsesTwoBytePkgLength) {
  std::vector<Bytes> zeros(100, aml::integer(0));
  Bytes p = aml::package(zeros);
  // 1 NumElements + 100 ZeroOps + 2 length bytes = 103 = 0x67.
  ASSERT_EQ(p.size(), 1u + 2 + 1 + 100);
  EXPECT_EQ(p[0], 0x12);
  EXPECT_EQ(p[1], 0x47);
  EXPECT_EQ(p[2], 0x06);
  EXPECT_EQ(p[3], 100);
}

TEST(AmlEisaId, MatchesAslEisaId) {
  EXPECT_EQ(aml::eisa_id("PNP0A03"), (Bytes{0x0C, 0x41, 0xD0, 0x0A, 0x03}));
  EXPECT_EQ(aml::eisa_id("PNP0501"), (Bytes{0x0C, 0x41, 0xD0, 0x05, 0x01}));
}

TEST(AmlScopeDevice, EmptyBodies) {
  EXPECT_EQ(aml::scope("\\_SB", {}), (Bytes{0x10, 0x06, '\\', '_', 'S', 'B', '_'}));
  EXPECT_EQ(aml::device("COM1", {}), (Bytes{0x5B, 0x82, 0x05, 'C', 'O', 'M', '1'}));
  Bytes d = aml::device("DEV", {aml::name("_UID", aml::integer(1))});
  EXPECT_EQ(d, (Bytes{0x5B, 0x82, 0x0B, 'D', 'E', 'V', '_', 0x08, '_', 'U', 'I', 'D', 0x01}));
}

TEST(AmlResources, Com1Template) {
  Bytes crs = aml::resource_template({aml::io_port(0x3F8, 0x3F8, 1, 8), aml::irq_no_flags(4)});
  EXPECT_EQ(crs, (Bytes{0x11, 0x10, 0x0A, 0x0D,                          // Buffer, 13 bytes
                        0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08,  // IO(Decode16, ...)
                        0x22, 0x10, 0x00,                                // IRQNoFlags() {4}
                        0x79, 0x00}));                                   // EndTag
}

}  // namespace
}  // namespace vessel
