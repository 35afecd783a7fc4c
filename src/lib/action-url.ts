/**
 * The `action` of a form that posts to a named action of the current page while keeping where the
 * person is going after signing in (`?/name` alone would drop the page's query string).
 */
export function actionUrl(name: string, url: URL): string {
	const back = url.searchParams.get('redirectTo');
	return back ? `?/${name}&redirectTo=${encodeURIComponent(back)}` : `?/${name}`;
}
