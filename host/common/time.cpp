#include "common/time.hpp"

#include <cstdio>

namespace ordergate::timefmt {

namespace {
// Days since 1970-01-01 for a civil date (proleptic Gregorian), and back.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}
void civil_from_days(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}
bool digits(std::string_view s, size_t at, size_t n, int* out) {
    if (at + n > s.size()) return false;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

// a / b rounded towards negative infinity (b > 0), without negating a: -INT64_MIN overflows.
int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}
}  // namespace

std::string rfc3339_ms(int64_t ns) {
    int64_t ms = floor_div(ns, 1'000'000);
    int64_t secs = floor_div(ms, 1000);
    int msec = static_cast<int>(ms - secs * 1000);
    int64_t days = floor_div(secs, 86400);
    int64_t rem = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    const int hh = static_cast<int>(rem / 3600), mm = static_cast<int>(rem % 3600 / 60),
              ss = static_cast<int>(rem % 60);
    if (y < 0 || y > 9999) {
        char buf[64];  // room for any int fields: gcc cannot see the ranges (-Wformat-truncation)
        std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                      static_cast<long long>(y), m, d, hh, mm, ss, msec);
        return buf;
    }
    // The common case by hand: this runs several times per order (snprintf costs ~20x more).
    std::string out(24, '\0');
    auto put = [&out](size_t at, int64_t v, int width) {
        for (int i = width - 1; i >= 0; --i) {
            out[at + static_cast<size_t>(i)] = static_cast<char>('0' + v % 10);
            v /= 10;
        }
    };
    put(0, y, 4);
    out[4] = '-';
    put(5, m, 2);
    out[7] = '-';
    put(8, d, 2);
    out[10] = 'T';
    put(11, hh, 2);
    out[13] = ':';
    put(14, mm, 2);
    out[16] = ':';
    put(17, ss, 2);
    out[19] = '.';
    put(20, msec, 3);
    out[23] = 'Z';
    return out;
}

bool parse_rfc3339(std::string_view s, int64_t* ns) {
    int y, mo, d, h, mi, se;
    if (s.size() < 20) return false;
    if (!digits(s, 0, 4, &y) || s[4] != '-' || !digits(s, 5, 2, &mo) || s[7] != '-' ||
        !digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, &h) ||
        s[13] != ':' || !digits(s, 14, 2, &mi) || s[16] != ':' || !digits(s, 17, 2, &se))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
    static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap)) return false;
    size_t i = 19;
    int64_t frac_ns = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        size_t start = i;
        int64_t scale = 100'000'000;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            frac_ns += (s[i] - '0') * scale;
            scale /= 10;
            ++i;
        }
        if (i == start) return false;
    }
    int64_t offset = 0;
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
        ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (!digits(s, i + 1, 2, &oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
            !digits(s, i + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        offset = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
        i += 6;
    } else {
        return false;
    }
    if (i != s.size()) return false;
    int64_t secs = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
                   h * 3600 + mi * 60 + (se == 60 ? 59 : se) - offset;
    *ns = secs * 1'000'000'000 + frac_ns;
    return true;
}

}  // namespace ordergate::timefmt
