// One state object per project for the life of the page, so a step keeps its state (a
// running job, the user's choices) while the user looks at another step or project.
// The arguments after the project id are used when the state is first made.
export function perProject<T, A extends unknown[]>(
  create: (projectId: string, ...args: A) => T,
): (projectId: string, ...args: A) => T {
  const states = new Map<string, T>();
  return (projectId, ...args) => {
    let state = states.get(projectId);
    if (state === undefined) states.set(projectId, (state = create(projectId, ...args)));
    return state;
  };
}
