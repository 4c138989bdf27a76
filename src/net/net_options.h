// The --net option: which backend a virtio-net device gets, its MAC address
// and (user-mode networking) the host ports forwarded into the guest.
//
//   user[,hostfwd=RULE]...[,mac=MAC][,mtu=N]
//   tap=NAME[,mac=MAC]
//
// RULE is [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT (QEMU's form):
// the protocol defaults to tcp, HOSTADDR to every address (0.0.0.0),
// GUESTADDR to the guest's DHCP address 10.0.2.15. MAC is six hex byte pairs
// separated by ':', unicast and not all zero; the default is
// 52:54:00:12:34:56. mtu= (user only, 576 to 65520) is the guest network's
// MTU, default 16384 (SlirpBackend::kDefaultMtu says why): fewer, larger
// frames make user networking faster (slirp terminates every connection, so
// the host network's MTU does not matter).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace vessel {

struct HostForward {
  bool udp = false;
  uint32_t host_addr = 0;  // IPv4, host byte order (0: any)
  uint16_t host_port = 0;
  uint32_t guest_addr = 0;  // IPv4, host byte order
  uint16_t guest_port = 0;
};

struct NetOptions {
  enum class Kind { kUser, kTap };
  Kind kind = Kind::kUser;
  std::string tap_name;  // kTap
  std::array<uint8_t, 6> mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  std::vector<HostForward> forwards;  // kUser
  uint16_t mtu = 0;                   // kUser; 0: the backend's default
};

// The user-mode network's well-known addresses (QEMU's defaults).
namespace slirp_net {
inline constexpr uint32_t kNetwork = 0x0A000200;  // 10.0.2.0/24
inline constexpr uint32_t kNetmask = 0xFFFFFF00;
inline constexpr uint32_t kHost = 0x0A000202;       // gateway and host, 10.0.2.2
inline constexpr uint32_t kDns = 0x0A000203;        // 10.0.2.3
inline constexpr uint32_t kDhcpStart = 0x0A00020F;  // 10.0.2.15
}  // namespace slirp_net

Expected<NetOptions> parse_net_options(std::string_view text);
Expected<std::array<uint8_t, 6>> parse_mac(std::string_view text);
Expected<HostForward> parse_hostfwd(std::string_view text);
// Dotted-quad IPv4 to host byte order.
Expected<uint32_t> parse_ipv4(std::string_view text);
std::string format_mac(const std::array<uint8_t, 6>& mac);
std::string format_ipv4(uint32_t addr);

}  // namespace vessel
