// bench-generic.cpp — cost per name of the generic tier, and of a whole classification.
//
// Usage: ip25b-bench-generic RULES_DIR < names.txt
// Reads one PTR name per line (the shared corpus, shared/bench/gen_hostnames.py)
// and times, per name, GenericDetector::detect() built as the classifier builds it
// (the shipped hosting list, the cloud and ISP zones), then Classifier::classify()
// with the shipped configuration's sources (allowlist, every ISP country, cloud,
// generic tier). The client address of a name is the one the name spells (so the
// "embeds the client address" path is taken as in production); names that spell
// none get 192.0.2.1. Prints p50, p99, p99.9 and the mean of each, over several
// passes, after one warm-up pass.
#include "ip25b/classifier.hpp"
#include "ip25b/dns_name.hpp"
#include "ip25b/generic_detector.hpp"
#include "ip25b/ip_in_name.hpp"
#include "ip25b/rule_source.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

using namespace ip25b;
using Clock = std::chrono::steady_clock;

namespace {

struct Sample {
    std::string name;
    IpAddress client;
};

void print(const char* what, std::vector<double>& ns, size_t names) {
    std::sort(ns.begin(), ns.end());
    auto at = [&](double q) { return ns[std::min(ns.size() - 1, size_t(q * double(ns.size())))]; };
    double sum = 0;
    for (double v : ns)
        sum += v;
    std::printf("%-44s p50 %7.3f us  p99 %7.3f us  p99.9 %7.3f us  mean %7.3f us  (%zu names, "
                "%zu timings)\n",
                what, at(0.50) / 1000, at(0.99) / 1000, at(0.999) / 1000,
                sum / double(ns.size()) / 1000, names, ns.size());
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s RULES_DIR < names.txt\n", argv[0]);
        return 2;
    }
    const std::string rules = argv[1];
    std::vector<Sample> samples;
    std::string line;
    const IpAddress fallback = *IpAddress::parse("192.0.2.1");
    while (std::getline(std::cin, line)) {
        if (line.empty() || hostname_problem(line)) continue;
        Sample s{normalize_hostname(line), fallback};
        IpInName found = find_ip_in_name(s.name, nullptr);
        for (const auto& e : found.found)
            if (e.octets == 4) {
                s.client = e.address;
                break;
            }
        samples.push_back(std::move(s));
    }
    if (samples.empty()) {
        std::fprintf(stderr, "no names on stdin\n");
        return 2;
    }

    // The detector as the classifier builds it: hosting list, cloud and ISP zones.
    auto cloud = load_rule_source(rules + "/cloud");
    auto isp = load_rule_source(rules + "/isp");
    if (!cloud || !isp) {
        std::fprintf(stderr, "%s\n", (cloud ? isp.error() : cloud.error()).to_string().c_str());
        return 1;
    }
    GenericDetectorConfig gc;
    gc.hosting_files = {rules + "/hosting/domains.txt"};
    gc.cloud_domains = cloud->cloud_domains;
    gc.isp_domains = isp->isp_domains;
    auto detector = GenericDetector::load(gc);
    if (!detector) {
        std::fprintf(stderr, "%s\n", detector.error().to_string().c_str());
        return 1;
    }
    ClassifierConfig cc;
    cc.rules = {rules + "/allowlist", rules + "/isp", rules + "/cloud"};
    cc.generic = true;
    cc.hosting_domains = gc.hosting_files;
    auto classifier = Classifier::load(cc);
    if (!classifier) {
        std::fprintf(stderr, "%s\n", classifier.error().to_string().c_str());
        return 1;
    }

    constexpr int kPasses = 3;
    GenericResult r;
    size_t generic = 0, vetoed = 0;
    for (const auto& s : samples) { // warm-up, and the counts
        detector->detect(s.name, &s.client, r);
        generic += r.generic;
        vetoed += r.vetoed;
    }
    std::vector<double> ns;
    ns.reserve(samples.size() * kPasses);
    for (int pass = 0; pass < kPasses; ++pass)
        for (const auto& s : samples) {
            auto t0 = Clock::now();
            detector->detect(s.name, &s.client, r);
            auto t1 = Clock::now();
            ns.push_back(
                double(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
        }
    // The timer's own cost, so the figures can be read against it.
    std::vector<double> empty;
    empty.reserve(samples.size());
    for (size_t i = 0; i < samples.size(); ++i) {
        auto t0 = Clock::now();
        auto t1 = Clock::now();
        empty.push_back(
            double(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
    }
    std::printf("generic tier: %zu names, %zu generic, %zu vetoed; %zu hosting/cloud/ISP zones\n",
                samples.size(), generic, vetoed, detector->domain_count());
    print("GenericDetector::detect", ns, samples.size());
    print("timer alone (clock overhead)", empty, samples.size());

    PtrResult ptr;
    ptr.status = PtrStatus::Confirmed;
    std::vector<double> cls;
    cls.reserve(samples.size());
    size_t counts[8] = {};
    for (const auto& s : samples) {
        ptr.name = s.name;
        auto t0 = Clock::now();
        Verdict v = (*classifier)->classify(s.client, ptr);
        auto t1 = Clock::now();
        cls.push_back(
            double(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
        ++counts[size_t(v.cls) & 7];
    }
    print("Classifier::classify (shipped sources, generic)", cls, samples.size());
    std::printf("classes:");
    for (ClientClass c : {ClientClass::Dynamic, ClientClass::Allowlisted, ClientClass::Cloud,
                          ClientClass::Generic, ClientClass::None, ClientClass::UnknownPtr})
        std::printf(" %s %zu", std::string(to_string(c)).c_str(), counts[size_t(c) & 7]);
    std::printf("\n");
    return 0;
}
