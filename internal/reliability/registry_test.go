package reliability

// The vendors come from the registry, which the command fills by importing
// the registration package; the tests import it likewise.
import _ "groupsync/internal/vendors/registry"
