// Outgoing changes and cursors: what a node sends (its own changes after
// the acked sequence), what the hub sends each centre (changes routed to
// it), the hub's cursor per origin, and the node's acknowledgement, which
// compacts its change log.
#include <algorithm>

#include "common/store/store_impl.h"
#include "common/wire/change_codec.h"

namespace terril {

using store::kMetaAcked;
using store::kMetaOwnSeq;

Result<Outgoing> Store::own_changes_after(uint64_t after, size_t limit) {
  Outgoing out;
  out.last_seq = after;
  if (opts_.origin.empty() || limit == 0) return out;
  Query q(impl_->own_after);
  q.bind(1, std::string_view(opts_.origin)).bind(2, after).bind(3, static_cast<int64_t>(limit));
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    auto c = wire::decode_change(q.blob(1));
    if (!c) return corrupt_payload();
    out.last_seq = q.u64(0);
    out.changes.push_back(std::move(*c));
  }
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "read change log");
  return out;
}

Result<Outgoing> Store::changes_for_centre(const std::string& centre, const std::string& node_id, uint64_t after,
                                           size_t limit) {
  Impl& im = *impl_;
  Outgoing out;
  out.last_seq = after;
  if (limit == 0) return out;
  Impl::Tx tx(im);  // one snapshot for the streams and the payloads
  if (Status s = tx.begin(false); !s) return s;
  // Three streams, each sorted by seq and cut at `limit`: the `limit`
  // smallest of their union are exactly the first `limit` routed changes.
  std::vector<uint64_t> seqs;
  for (sqlite3_stmt* st : {im.fan_all, im.fan_owner, im.fan_host}) {
    Query q(st);
    q.bind(1, after).bind(2, std::string_view(node_id)).bind(3, static_cast<int64_t>(limit));
    if (st != im.fan_all) q.bind(4, std::string_view(centre));
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) seqs.push_back(q.u64(0));
    if (rc != SQLITE_DONE) return sql_error(im.db, rc, "read change log");
  }
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  if (seqs.size() >= limit) {
    seqs.resize(limit);
    out.last_seq = seqs.back();
  } else {
    Query q(im.log_max);
    if (q.step() != SQLITE_ROW) return sql_error(im.db, SQLITE_ERROR, "read change log");
    out.last_seq = std::max(after, q.u64(0));
  }
  out.changes.reserve(seqs.size());
  for (uint64_t seq : seqs) {
    Query q(im.log_payload);
    q.bind(1, seq);
    int rc = q.step();
    if (rc != SQLITE_ROW) return sql_error(im.db, rc, "read change log");
    auto c = wire::decode_change(q.blob(0));
    if (!c) return corrupt_payload();
    out.changes.push_back(std::move(*c));
  }
  if (Status s = tx.commit(); !s) return s;
  return out;
}

// --- Cursors and clock -------------------------------------------------------

Result<uint64_t> Store::origin_cursor(const std::string& origin) {
  return impl_->cursor_of(origin);
}

Status Store::set_acked(uint64_t seq) {
  if (opts_.hub) return invalid("set_acked runs on a node", "Opération réservée aux postes.");
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  if (seq <= im.acked_seq) return Status::ok();
  im.acked_seq = seq;
  if (Status s = im.put_meta_u64(kMetaAcked, seq); !s) return s;
  if (seq > im.own_seq) {
    // The hub holds more of our changes than this database issued (restored
    // from an old copy): never reuse those numbers.
    im.own_seq = seq;
    if (Status s = im.put_meta_u64(kMetaOwnSeq, seq); !s) return s;
  }
  Query q(im.log_compact);
  q.bind(1, std::string_view(opts_.origin)).bind(2, seq);
  if (Status s = im.run(q, "compact change log"); !s) return s;
  return tx.commit();
}

}  // namespace terril
