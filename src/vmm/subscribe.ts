// The embedding API's subscriptions (VirtualMachine.onExit, onConsole): add a listener to a list
// and hand back the function that takes it off again.

export function subscribe<T>(list: T[], item: T): () => void {
  list.push(item);
  return () => {
    const at = list.indexOf(item);
    if (at >= 0) list.splice(at, 1);
  };
}
