// Both sides of an anti-entropy round over a Store (see anti_entropy.h).
#include "common/store/anti_entropy.h"

#include <map>

#include "common/core/record_codec.h"

namespace terril {

namespace {

// True when `k` is one of the children of `parent` (digest.h's tree).
bool child_of(const RangeKey& k, const RangeKey& parent) {
  if (k.entity != parent.entity) return false;
  if (parent.owner.empty()) return !k.owner.empty() && k.prefix.empty();
  return k.owner == parent.owner && k.prefix.size() == parent.prefix.size() + 1 &&
         k.prefix.compare(0, parent.prefix.size(), parent.prefix) == 0;
}

constexpr size_t kMaxIdLen = 64;

}  // namespace

std::vector<wire::Repair> repair_frames(uint64_t round, std::vector<Record> records, std::vector<RecordRef> want,
                                        std::vector<RecordRef> purge, bool last) {
  std::vector<wire::Repair> out(1);
  out.back().round = round;
  size_t bytes = 0;
  std::string state;
  for (Record& r : records) {
    encode_state(r, state);
    if (!out.back().records.empty() &&
        (bytes + state.size() > kRepairFrameBytes || out.back().records.size() >= wire::kMaxRepairRecords)) {
      out.emplace_back().round = round;
      bytes = 0;
    }
    bytes += state.size() + r.id.size() + r.centre_id.size();
    out.back().records.push_back(std::move(r));
  }
  // Refs are small (about 20 bytes each): a frame holds kMaxRefs of them.
  while (want.size() + purge.size() > wire::kMaxRefs) {
    wire::Repair extra;
    extra.round = round;
    const size_t n = std::min(want.size(), wire::kMaxRefs);
    extra.want.assign(want.end() - static_cast<std::ptrdiff_t>(n), want.end());
    want.resize(want.size() - n);
    if (n < wire::kMaxRefs) {
      const size_t m = std::min(purge.size(), wire::kMaxRefs - n);
      extra.purge.assign(purge.end() - static_cast<std::ptrdiff_t>(m), purge.end());
      purge.resize(purge.size() - m);
    }
    out.insert(out.begin(), std::move(extra));
  }
  out.back().want = std::move(want);
  out.back().purge = std::move(purge);
  out.back().last = last;
  return out;
}

// --- Hub -----------------------------------------------------------------------

Result<wire::DigestReply> answer_digest_check(Store& hub, const std::string& centre, const wire::DigestCheck& check) {
  wire::DigestReply out;
  out.round = check.round;
  std::vector<RangeKey> keys;
  keys.reserve(check.ranges.size());
  for (const auto& r : check.ranges) keys.push_back(r.key);
  auto mine = hub.digests(centre, keys);
  if (!mine) return mine.status();
  size_t leaves = 0, ranges = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    const RangeDigest& theirs = check.ranges[i];
    const RangeDigest& ours = (*mine)[i];
    if (ours.count == theirs.count && ours.hash == theirs.hash) continue;
    // Compare record by record when the range is small, when the node holds
    // nothing of it (a new or emptied box wants it all), or when its count
    // differs by a sixteenth or more (most children would differ too, so
    // narrowing further would scan the range again for little). A range that
    // does not fit in this reply goes back to the node to check again.
    const uint64_t diff = ours.count > theirs.count ? ours.count - theirs.count : theirs.count - ours.count;
    const bool small = ours.count + theirs.count <= kLeafMax || ours.key.prefix.size() >= kMaxIdLen;
    const bool dense = ours.count <= wire::kMaxLeaves && (theirs.count == 0 || diff * 16 >= ours.count);
    if (small || dense) {
      if (leaves > 0 && leaves + ours.count > wire::kMaxLeaves) {
        out.again.push_back(theirs);
        continue;
      }
      auto l = hub.digest_leaves(centre, ours.key);
      if (!l) return l.status();
      leaves += l->size();
      ++ranges;
      out.leaves.push_back({ours, std::move(*l)});
      continue;
    }
    if (ranges + kIdAlphabet.size() + 1 > wire::kMaxRanges) {
      out.again.push_back(theirs);
      continue;
    }
    auto kids = hub.digest_children(centre, ours.key);
    if (!kids) return kids.status();
    ranges += 1 + kids->size();
    out.split.push_back(ours);
    out.children.insert(out.children.end(), kids->begin(), kids->end());
  }
  return out;
}

Result<std::vector<wire::Repair>> answer_repair(Store& hub, const wire::Repair& from_node, const ApplyReport& applied) {
  auto recs = hub.records(from_node.want);
  if (!recs) return recs.status();
  return repair_frames(from_node.round, std::move(*recs), {}, applied.purge, true);
}

// --- Node ----------------------------------------------------------------------

Result<wire::DigestCheck> Reconciler::start() {
  ++round_;
  checks_out_ = repairs_out_ = 0;
  stats_ = {};
  std::vector<RangeKey> keys;
  for (const auto& es : entities()) keys.push_back({es.entity, "", ""});
  auto d = store_.digests("", keys);
  if (!d) return d.status();
  stats_.ranges_checked += d->size();
  ++checks_out_;
  return wire::DigestCheck{round_, std::move(*d)};
}

Result<std::vector<wire::Repair>> Reconciler::resend(const std::vector<RecordRef>& refs) {
  auto recs = store_.records(refs);
  if (!recs) return recs.status();
  stats_.pushed += recs->size();
  auto frames = repair_frames(round_, std::move(*recs), {}, {}, true);
  repairs_out_ += static_cast<int>(frames.size());
  return frames;
}

Result<Reconciler::Step> Reconciler::on_reply(const wire::DigestReply& r) {
  Step step;
  if (r.round != round_) return step;  // a reply to an abandoned round
  if (checks_out_ > 0) --checks_out_;
  std::vector<RangeDigest> next;
  for (const RangeDigest& parent : r.split) {
    auto mine = store_.digest_children("", parent.key);
    if (!mine) return mine.status();
    std::map<RangeKey, std::pair<RangeDigest, RangeDigest>> both;  // key -> (mine, hub's)
    for (const auto& d : *mine) both[d.key].first = d;
    for (const auto& d : r.children)
      if (child_of(d.key, parent.key)) both[d.key].second = d;
    for (auto& [key, pair] : both) {
      if (pair.first.count == pair.second.count && pair.first.hash == pair.second.hash) continue;
      pair.first.key = key;
      next.push_back(pair.first);
    }
  }
  std::vector<RecordRef> push, want;
  for (const wire::RangeLeaves& rl : r.leaves) {
    auto mine = store_.digest_leaves("", rl.range.key);
    if (!mine) return mine.status();
    std::map<std::string, std::pair<uint64_t, uint64_t>> both;  // id -> (mine + 1, hub's + 1); 0 = absent
    for (const Leaf& l : *mine) both[l.id].first = l.hash + 1;
    for (const Leaf& l : rl.leaves) both[l.id].second = l.hash + 1;
    for (const auto& [id, h] : both) {
      if (h.first == h.second) continue;
      if (h.first) push.push_back({rl.range.key.entity, id});
      if (h.second) want.push_back({rl.range.key.entity, id});
    }
  }
  // Ranges the hub had no room for in its reply: check them again as they are.
  if (!r.again.empty()) {
    std::vector<RangeKey> keys;
    for (const auto& d : r.again) keys.push_back(d.key);
    auto again = store_.digests("", keys);
    if (!again) return again.status();
    next.insert(next.end(), again->begin(), again->end());
  }
  if (!next.empty()) {
    stats_.ranges_checked += next.size();
    ++checks_out_;
    step.checks.push_back(wire::DigestCheck{round_, std::move(next)});
  }
  if (!push.empty() || !want.empty()) {
    auto recs = store_.records(push);
    if (!recs) return recs.status();
    stats_.pushed += recs->size();
    step.repairs = repair_frames(round_, std::move(*recs), std::move(want), {}, true);
    repairs_out_ += static_cast<int>(step.repairs.size());
  }
  return step;
}

Status Reconciler::on_repair(const wire::Repair& r, int64_t wall_ms) {
  if (!r.records.empty() || !r.purge.empty()) {
    auto rep = store_.apply_repair(r.records, r.purge, centre_, wall_ms);
    if (!rep) return rep.status();
    if (r.round == round_) {
      stats_.pulled += rep->merged;
      stats_.purged += rep->purged;
    }
  }
  if (r.last && r.round == round_ && repairs_out_ > 0) --repairs_out_;
  return Status::ok();
}

}  // namespace terril
