// Routing (which replicas receive a change) and permissions (which origin may
// make it), exactly as docs/design.md "Routing and permissions" states. Pure.
#pragma once

#include <optional>
#include <string>

#include "common/core/model.h"
#include "common/core/status.h"

namespace terril {

constexpr std::string_view kHubOrigin = "hub";

// The nodes a change goes to, named by centre. The hub holds everything.
struct Audience {
  bool everyone = false;     // centres, events, prototype notes
  std::string owner_centre;  // registrations: the centre that owns it
  std::string host_centre;   // registrations: the centre hosting its event (may be empty or equal)

  bool includes(std::string_view centre) const {
    return everyone || centre == owner_centre || (!host_centre.empty() && centre == host_centre);
  }
};

// REQUIRES: for registrations, `host_centre` is the owner centre of the
// registration's event as the deciding replica knows it (empty if unknown).
Audience route(Entity e, std::string_view owner_centre, std::string_view host_centre);

// What the hub knows when it judges a change from a node.
struct PermissionContext {
  std::string node_id;               // the authenticated node
  std::string node_centre;           // its centre
  const Record* existing = nullptr;  // the record before the change, if any
  std::string event_host_centre;     // for registrations: host of the event named by the
                                     // existing record or, for a new one, by the change
};

// ok, or forbidden with a French message naming why. Rules:
//  * the origin must be the authenticated node (no forged origins);
//  * the record's owner centre (existing, else the change's) must be the
//    node's centre, and a change may not claim another owner;
//  * exception: the host centre of a registration's event may UPSERT only
//    the `attended`, `seat` and `seat_by` fields of that registration;
//  * seat fields as seats::check_seat_fields allows (the owner or the host,
//    from its own seat); the counts are the hub's to check (Store);
//  * centres are reference data: a node may edit its own centre's record
//    but not create another, and never delete one (forbidden);
//  * a record the hub does not hold yet (an UPSERT with no existing record)
//    must pass validate_new_record, as the APIs require (invalid otherwise:
//    no registration without names, phone, role or consent date).
Status check_node_change(const PermissionContext& ctx, const Change& c);

}  // namespace terril
