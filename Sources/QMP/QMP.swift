// QMP module: work in progress
