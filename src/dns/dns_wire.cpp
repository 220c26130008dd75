// dns_wire.cpp — bounds-checked parsing of DNS answers; see dns_wire.hpp.
#include "ip25b/dns_wire.hpp"

#include "ip25b/ascii.hpp"

#include <algorithm>
#include <cstdio>

namespace ip25b::dns {

namespace {

struct Reader {
    const uint8_t* p;
    size_t len;
    std::string* why;

    bool fail(const std::string& reason) {
        if (why && why->empty()) *why = reason;
        return false;
    }
    bool u16(size_t& off, uint16_t& v) {
        if (off + 2 > len)
            return fail("message ends inside a field at offset " + std::to_string(off));
        v = uint16_t(p[off] << 8 | p[off + 1]);
        off += 2;
        return true;
    }
    bool u32(size_t& off, uint32_t& v) {
        if (off + 4 > len)
            return fail("message ends inside a field at offset " + std::to_string(off));
        v = uint32_t(p[off]) << 24 | uint32_t(p[off + 1]) << 16 | uint32_t(p[off + 2]) << 8 |
            p[off + 3];
        off += 4;
        return true;
    }

    // Reads the name at `off`; `off` moves past it (past the first pointer if compressed).
    bool name(size_t& off, std::string& out) {
        out.clear();
        size_t pos = off, wire = 0;
        bool jumped = false;
        // Each pointer must point strictly before the label sequence that holds it, so
        // positions decrease at every jump and the walk ends; 128 is a belt-and-braces cap.
        size_t floor = off;
        for (int steps = 0; steps < 256; ++steps) {
            if (pos >= len)
                return fail("name runs past the end of the message at offset " +
                            std::to_string(pos));
            uint8_t b = p[pos];
            if ((b & 0xC0) == 0xC0) {
                if (pos + 1 >= len)
                    return fail("compression pointer cut off at offset " + std::to_string(pos));
                size_t target = size_t(b & 0x3F) << 8 | p[pos + 1];
                if (target >= floor)
                    return fail("compression pointer does not point backwards at offset " +
                                std::to_string(pos));
                if (!jumped) off = pos + 2;
                jumped = true;
                floor = target;
                pos = target;
                continue;
            }
            if (b & 0xC0)
                return fail("reserved label type 0x" + hex(b) + " at offset " +
                            std::to_string(pos));
            wire += size_t(b) + 1;
            if (wire > 255) return fail("name over 255 bytes at offset " + std::to_string(pos));
            if (b == 0) {
                if (!jumped) off = pos + 1;
                return true;
            }
            if (pos + 1 + b > len)
                return fail("label runs past the end of the message at offset " +
                            std::to_string(pos));
            if (!out.empty()) out += '.';
            for (size_t i = 0; i < b; ++i) {
                char c = char(p[pos + 1 + i]);
                if (c == '.' || c == '\\') out += '\\';
                out += c;
            }
            pos += 1 + size_t(b);
        }
        return fail("name has too many labels");
    }

    static std::string hex(uint8_t b) {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%02x", b);
        return buf;
    }
};

} // namespace

std::optional<Message> parse_message(const uint8_t* data, size_t len, std::string* why) {
    if (why) why->clear();
    Reader r{data, len, why};
    Message m;
    if (!data || len < 12) {
        r.fail("message shorter than a DNS header (" + std::to_string(len) + " bytes)");
        return std::nullopt;
    }
    size_t off = 0;
    uint16_t flags = 0, qd = 0, an = 0, ns = 0, ar = 0;
    r.u16(off, m.id);
    r.u16(off, flags);
    r.u16(off, qd);
    r.u16(off, an);
    r.u16(off, ns);
    r.u16(off, ar);
    if (!(flags & 0x8000)) {
        r.fail("not a response (QR clear)");
        return std::nullopt;
    }
    m.rcode = uint8_t(flags & 0x0F);
    m.truncated = flags & 0x0200;
    if (qd != 1) {
        r.fail("question count " + std::to_string(qd) + ", expected 1");
        return std::nullopt;
    }
    uint16_t qclass = 0;
    if (!r.name(off, m.qname) || !r.u16(off, m.qtype) || !r.u16(off, qclass)) return std::nullopt;

    // Answer and authority sections; the additional section is not needed and not read.
    for (unsigned section = 0; section < 2; ++section) {
        unsigned count = section == 0 ? an : ns;
        for (unsigned i = 0; i < count; ++i) {
            Record rec;
            uint16_t cls = 0, rdlen = 0;
            if (!r.name(off, rec.owner) || !r.u16(off, rec.type) || !r.u16(off, cls) ||
                !r.u32(off, rec.ttl) || !r.u16(off, rdlen))
                return std::nullopt;
            if (rec.ttl > 0x7FFFFFFF) rec.ttl = 0; // RFC 2181 8: treat as zero
            size_t rd = off, end = off + rdlen;
            if (end > len) {
                r.fail("record data runs past the end of the message at offset " +
                       std::to_string(off));
                return std::nullopt;
            }
            off = end;
            if (cls != 1) continue;
            if (section == 1) {
                if (rec.type != SOA) continue;
                std::string mname, rname;
                uint32_t serial, refresh, retry, expire, minimum;
                if (!r.name(rd, mname) || !r.name(rd, rname) || !r.u32(rd, serial) ||
                    !r.u32(rd, refresh) || !r.u32(rd, retry) || !r.u32(rd, expire) ||
                    !r.u32(rd, minimum))
                    return std::nullopt;
                if (rd != end) {
                    r.fail("SOA data length mismatch at offset " + std::to_string(rd));
                    return std::nullopt;
                }
                if (minimum > 0x7FFFFFFF) minimum = 0;
                m.negative_ttl = std::min(rec.ttl, minimum);
                continue;
            }
            switch (rec.type) {
            case A:
            case AAAA: {
                size_t want = rec.type == A ? 4 : 16;
                if (rdlen != want) {
                    r.fail("address record of " + std::to_string(rdlen) + " bytes");
                    return std::nullopt;
                }
                for (size_t k = 0; k < want; ++k)
                    rec.addr[k] = data[rd + k];
                break;
            }
            case CNAME:
            case PTR:
                if (!r.name(rd, rec.target)) return std::nullopt;
                if (rd != end) {
                    r.fail("name data length mismatch at offset " + std::to_string(rd));
                    return std::nullopt;
                }
                break;
            default:
                continue;
            }
            m.answers.push_back(std::move(rec));
        }
    }
    return m;
}

bool same_name(std::string_view a, std::string_view b) {
    return ascii_iequals(a, b);
}

std::string printable(std::string_view s, size_t max) {
    std::string out;
    // Where to cut so that "..." still fits within max: a cut never splits a \DDD escape.
    size_t cut = 0;
    for (unsigned char c : s) {
        char piece[8];
        size_t n = 1;
        if (c >= 0x21 && c <= 0x7E)
            piece[0] = char(c);
        else
            n = size_t(std::snprintf(piece, sizeof piece, "\\%03u", c));
        if (out.size() + n > max) {
            out.resize(cut);
            out.append("...", std::min<size_t>(3, max - cut));
            break;
        }
        out.append(piece, n);
        if (out.size() + 3 <= max) cut = out.size();
    }
    return out;
}

} // namespace ip25b::dns
