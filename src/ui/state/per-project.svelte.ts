// One state object per project for the life of the page, so a step keeps its state (a
// running job, the user's choices) while the user looks at another step or project.
// The arguments after the project id are used when the state is first made.
//
// Each state is made in an effect root of its own: a $derived created while a step's panel
// mounts would belong to that panel and stop updating once the user moves to another step
// (seen with Svelte 5.59: the Train button's canStart stayed false after notes were
// annotated in the Annotate step).
export function perProject<T, A extends unknown[]>(
  create: (projectId: string, ...args: A) => T,
): (projectId: string, ...args: A) => T {
  const states = new Map<string, T>();
  return (projectId, ...args) => {
    if (!states.has(projectId)) {
      $effect.root(() => {
        states.set(projectId, create(projectId, ...args));
      });
    }
    return states.get(projectId)!;
  };
}
