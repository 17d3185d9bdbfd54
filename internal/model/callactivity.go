package model

// Call activity settings Camunda 8 models give in zeebe:calledElement;
// the BPMN reader keeps them among the node's Extensions (a workflow
// JSON writes them there too: {"extensions": {"zeebe:bindingType":
// "deployment"}}).

// Binding types: which version of the called process a call activity
// starts (zeebe:calledElement bindingType).
const (
	// BindingLatest is the latest version deployed when the call activity
	// is activated (the default).
	BindingLatest = "latest"
	// BindingDeployment is the version deployed together with the
	// calling version, from the same source.
	BindingDeployment = "deployment"
	// BindingVersionTag is the latest version whose process declares the
	// version tag the call activity names (zeebe:versionTag).
	BindingVersionTag = "versionTag"
)

// PropagateAllParentVariables reports whether a call activity hands all
// its variables to the child instance (the default), or only those of
// its input mappings (zeebe:propagateAllParentVariables="false").
func (n *Node) PropagateAllParentVariables() bool {
	return n.Extensions["zeebe:propagateAllParentVariables"] != "false"
}

// PropagateAllChildVariables reports whether a call activity without
// output mappings takes all the child instance's variables when the
// child completes (the default), or none
// (zeebe:propagateAllChildVariables="false"). Output mappings, when
// there are any, decide alone, as in Zeebe.
func (n *Node) PropagateAllChildVariables() bool {
	return n.Extensions["zeebe:propagateAllChildVariables"] != "false"
}

// BindingType is the call activity's binding type (BindingLatest when
// none is set).
func (n *Node) BindingType() string {
	if b := n.Extensions["zeebe:bindingType"]; b != "" {
		return b
	}
	return BindingLatest
}

// CalledVersionTag is the version tag a call activity with
// BindingVersionTag binds to.
func (n *Node) CalledVersionTag() string { return n.Extensions["zeebe:versionTag"] }
