/**
 * Array access for tests under `noUncheckedIndexedAccess`: the element, or a failure that says
 * which one was missing (instead of "cannot read properties of undefined" a line later).
 */
export function at<T>(array: readonly T[], index: number): T {
  const item = array.at(index);
  if (item === undefined)
    throw new Error(`expected an element at index ${index}, but there are ${array.length}: ${JSON.stringify(array).slice(0, 300)}`);
  return item;
}

export function first<T>(array: readonly T[]): T {
  return at(array, 0);
}
