package runner

// Headers returns the task headers of the job's node (zeebe:taskHeaders):
// static settings a handler reads, such as a template name or a target
// system. nil when the node has none.
func (j *Job) Headers() map[string]string {
	if j.Node == nil {
		return nil
	}
	return j.Node.TaskHeaders()
}
