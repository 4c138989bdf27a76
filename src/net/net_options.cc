#include "net/net_options.h"

#include <fmt/format.h>
#include <charconv>

namespace vessel {

namespace {

// Splits at the first `sep`: {before, after}; after is empty without one.
std::pair<std::string_view, std::string_view> split(std::string_view s, char sep) {
  size_t at = s.find(sep);
  if (at == std::string_view::npos) return {s, {}};
  return {s.substr(0, at), s.substr(at + 1)};
}

Expected<uint16_t> parse_port(std::string_view text, std::string_view what) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v == 0 ||
      v > 65535) {
    return make_error("{} '{}' is not a port number from 1 to 65535", what, text);
  }
  return static_cast<uint16_t>(v);
}

bool valid_tap_name(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char ch : name) {
    if (ch == '/' || ch == ':' || ch <= ' ' || ch > '~') return false;
  }
  return true;
}

}  // namespace

Expected<uint32_t> parse_ipv4(std::string_view text) {
  uint32_t addr = 0;
  size_t pos = 0;
  for (int i = 0; i < 4; i++) {
    size_t dot = i < 3 ? text.find('.', pos) : text.size();
    if (dot == std::string_view::npos)
      return make_error("'{}' is not an IPv4 address (a.b.c.d)", text);
    std::string_view part = text.substr(pos, dot - pos);
    unsigned v = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || part.size() > 3 || ec != std::errc() || end != part.data() + part.size() ||
        v > 255) {
      return make_error("'{}' is not an IPv4 address (a.b.c.d)", text);
    }
    addr = addr << 8 | v;
    pos = dot + 1;
  }
  return addr;
}

std::string format_ipv4(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xFF, (a >> 8) & 0xFF, a & 0xFF);
}

Expected<std::array<uint8_t, 6>> parse_mac(std::string_view text) {
  std::array<uint8_t, 6> mac{};
  auto bad = [&](std::string_view why) {
    return make_error("MAC address '{}' {} (want six hex pairs like 52:54:00:12:34:56)", text, why);
  };
  if (text.size() != 17) return bad("is malformed");
  for (int i = 0; i < 6; i++) {
    std::string_view pair = text.substr(i * 3, 2);
    if (i < 5 && text[i * 3 + 2] != ':') return bad("is malformed");
    unsigned v = 0;
    auto [end, ec] = std::from_chars(pair.data(), pair.data() + 2, v, 16);
    if (ec != std::errc() || end != pair.data() + 2) return bad("is malformed");
    mac[i] = static_cast<uint8_t>(v);
  }
  if (mac[0] & 1) return bad("is a multicast address");
  if (mac == std::array<uint8_t, 6>{}) return bad("is all zero");
  return mac;
}

std::string format_mac(const std::array<uint8_t, 6>& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                     m[5]);
}

Expected<HostForward> parse_hostfwd(std::string_view text) {
  HostForward f;
  auto bad = [&](std::string_view why) {
    return make_error("hostfwd '{}': {} (want [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)",
                      text, why);
  };
  auto [host, guest] = split(text, '-');
  if (text.find('-') == std::string_view::npos) {
    return bad("no '-' between the host and the guest side");
  }
  // Host side: PROTO:ADDR:PORT (the protocol may be empty).
  auto [proto, host_rest] = split(host, ':');
  if (host.find(':') == std::string_view::npos) return bad("the host side lacks PROTO:ADDR:PORT");
  if (proto == "udp") {
    f.udp = true;
  } else if (proto != "tcp" && !proto.empty()) {
    return bad(fmt::format("unknown protocol '{}' (tcp or udp)", proto));
  }
  auto [haddr, hport] = split(host_rest, ':');
  if (host_rest.find(':') == std::string_view::npos) return bad("the host side lacks ADDR:PORT");
  if (!haddr.empty()) {
    auto a = parse_ipv4(haddr);
    if (!a.ok()) return bad(a.error().message);
    f.host_addr = *a;
  }
  auto hp = parse_port(hport, "host port");
  if (!hp.ok()) return bad(hp.error().message);
  f.host_port = *hp;
  // Guest side: ADDR:PORT.
  auto [gaddr, gport] = split(guest, ':');
  if (guest.find(':') == std::string_view::npos) return bad("the guest side lacks ADDR:PORT");
  f.guest_addr = slirp_net::kDhcpStart;
  if (!gaddr.empty()) {
    auto a = parse_ipv4(gaddr);
    if (!a.ok()) return bad(a.error().message);
    if ((*a & slirp_net::kNetmask) != slirp_net::kNetwork) {
      return bad(fmt::format("guest address {} is outside the guest network 10.0.2.0/24", gaddr));
    }
    f.guest_addr = *a;
  }
  auto gp = parse_port(gport, "guest port");
  if (!gp.ok()) return bad(gp.error().message);
  f.guest_port = *gp;
  return f;
}

Expected<NetOptions> parse_net_options(std::string_view text) {
  NetOptions o;
  auto [kind, rest] = split(text, ',');
  auto [key0, value0] = split(kind, '=');
  if (key0 == "user") {
    if (kind.find('=') != std::string_view::npos) {
      return make_error(
          "'{}': user takes no value (use --net user[,hostfwd=...][,mac=...][,mtu=N])", kind);
    }
    o.kind = NetOptions::Kind::kUser;
  } else if (key0 == "tap") {
    if (!valid_tap_name(value0)) {
      return make_error(
          "'{}': want tap=NAME with an interface name of 1 to 15 characters (no '/', ':' or "
          "spaces)",
          kind);
    }
    o.kind = NetOptions::Kind::kTap;
    o.tap_name = std::string(value0);
  } else {
    return make_error("'{}': want user[,hostfwd=...][,mac=...] or tap=NAME[,mac=...]", text);
  }
  bool have_mac = false;
  bool more = text.find(',') != std::string_view::npos;
  while (more) {
    more = rest.find(',') != std::string_view::npos;
    auto [item, after] = split(rest, ',');
    rest = after;
    auto [key, value] = split(item, '=');
    if (item.find('=') == std::string_view::npos) {
      return make_error("'{}': want KEY=VALUE (mac=..., hostfwd=...)", item);
    }
    if (key == "mac") {
      if (have_mac) return make_error("mac= given twice");
      VESSEL_ASSIGN(o.mac, parse_mac(value));
      have_mac = true;
    } else if (key == "hostfwd") {
      if (o.kind != NetOptions::Kind::kUser) {
        return make_error("hostfwd= is for user networking only (not tap)");
      }
      VESSEL_ASSIGN(auto f, parse_hostfwd(value));
      for (const HostForward& g : o.forwards) {
        if (g.udp == f.udp && g.host_port == f.host_port && g.host_addr == f.host_addr) {
          return make_error("hostfwd '{}': host port {} is forwarded twice", value, f.host_port);
        }
      }
      o.forwards.push_back(f);
    } else if (key == "mtu") {
      if (o.kind != NetOptions::Kind::kUser) {
        return make_error("mtu= is for user networking only (a TAP has its host interface's MTU)");
      }
      unsigned v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || v < 576 ||
          v > 65520) {
        return make_error("mtu '{}' is not a number from 576 to 65520", value);
      }
      o.mtu = static_cast<uint16_t>(v);
    } else {
      return make_error("unknown key '{}' (mac, hostfwd, mtu)", key);
    }
  }
  return o;
}

}  // namespace vessel
