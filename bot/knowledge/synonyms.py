"""The words customers and help articles use for the same thing, in English and Japanese.

Each concept lists phrases, separated by `|`: English ones match whole (stemmed) words,
Japanese ones match as written. A text containing any of them gets the concept as one more
search term, which is how "sign in" finds an article that says "log in", and "返金" one that
says "払い戻し". Kept to the
vocabulary of any support desk (accounts, billing, devices, data), not of one product.
"""

from __future__ import annotations

_TABLE: dict[str, str] = {
    "login": (
        "log in | login | logging in | logged in | sign in | signin | "
        "signing in | signed in | access my account | ログイン | サインイン | ログオン"
    ),
    "logout": "log out | logout | sign out | signed out | ログアウト | サインアウト",
    "password": "password | passcode | pwd | パスワード | 暗証番号",
    "reset": "reset | forgot | forgotten | forget | リセット | 再設定 | 忘れ",
    "locked": "locked | lockout | locked out | ロック | 凍結",
    "2fa": (
        "2fa | two-factor | two factor | 2-step | two-step | two step | mfa | "
        "authenticator | verification code | one-time code | 2段階認証 | 二段階認証 | "
        "二要素認証 | 2要素認証 | 認証コード | 認証アプリ | 確認コード | ワンタイム"
    ),
    "phone": (
        "phone | smartphone | mobile | iphone | android | スマートフォン | スマホ | 携帯 | "
        "機種変更 | 機種変"
    ),
    "lost": "lost | lose | stolen | 紛失 | なくし | 無くし | 失くし | 盗ま",
    "email": "email | e-mail | mail address | メールアドレス | メアド | アドレス",
    "account_delete": (
        "delete my account | delete account | close my account | close account | "
        "remove my account | 退会 | アカウントを削除 | アカウント削除 | アカウントを消"
    ),
    "cancel": (
        "cancel | unsubscribe | stop billing | stop paying | end my subscription | "
        "解約 | キャンセル | 自動更新を止め | 自動更新を停止 | やめたい | 辞めたい"
    ),
    "subscription": (
        "subscription | paid plan | renewal | renew | サブスクリプション | サブスク | 有料プラン | "
        "定期購入 | 自動更新 | 更新"
    ),
    "plan_change": "upgrade | downgrade | switch plan | アップグレード | ダウングレード",
    "yearly": "yearly | annual | annually | per year | 年額 | 年払い | 年間プラン",
    "monthly": "monthly | per month | 月額 | 月払い",
    "refund": "refund | money back | reimburse | 返金 | 払い戻し | 払戻",
    "double_charge": (
        "charged twice | double charge | double charged | duplicate charge | charged two times | "
        "二重請求 | 二重に請求 | 二重引き落とし | 2回引き落と | 二回引き落と | 2重"
    ),
    "payment": (
        "payment | pay | credit card | card | bank transfer | declined | 支払 | "
        "払い | 払え | クレジットカード | カード | 銀行振込 | 決済"
    ),
    "charge": "charge | billing | billed | 請求 | 引き落と | 課金",
    "invoice": "invoice | receipt | vat | 請求書 | 領収書 | インボイス | 適格請求書",
    "sync": "sync | synchronise | synchronize | 同期 | 反映",
    "device": (
        "device | laptop | computer | pc | ipad | tablet | desktop | 端末 | パソコン | "
        "デバイス | タブレット"
    ),
    "export": (
        "export | backup | back up | download all | take my notes | エクスポート | "
        "書き出 | バックアップ"
    ),
    "import": (
        "import | migrate | move my notes | move over | switch from | インポート | "
        "取り込 | 取込 | 移行"
    ),
    "invite": ("invite | invitation | add a member | add a coworker | add a colleague | 招待"),
    "member": (
        "member | teammate | colleague | coworker | co-worker | team mate | "
        "seat | メンバー | 同僚 | チームの人"
    ),
    "share": "share | sharing | shared | 共有",
    "permission": (
        "permission | read-only | read only | view only | can edit | "
        "access right | 権限 | 閲覧のみ | 編集可 | 編集権限"
    ),
    "restore": (
        "restore | recover | undelete | get it back | bring back | undo | 復元 | "
        "元に戻 | 復旧 | 取り戻"
    ),
    "trash": "trash | bin | recycle | ゴミ箱 | ごみ箱",
    "delete": "delete | deleted | remove | erase | 削除 | 消し | 消え | 消去 | 消す",
    "offline": (
        "offline | without internet | no internet | no connection | "
        "on the plane | on a plane | オフライン | ネットがな | 圏外 | 飛行機 | 電波"
    ),
    "notification": "notification | notify | push | alert | 通知 | プッシュ",
    "attachment": "attachment | attach | upload | 添付 | アップロード",
    "size_limit": (
        "too large | too big | max size | maximum size | size limit | "
        "max attachment | file size | 大きすぎ | 容量 | 上限 | 最大サイズ | サイズ"
    ),
    "crash": (
        "crash | won't start | will not start | doesn't start | does not open | "
        "blank screen | white screen | freeze | frozen | hang | 落ちる | 落ちま | "
        "クラッシュ | 起動しな | 起動できな | 固ま | フリーズ | 真っ白"
    ),
}

SYNONYMS: dict[str, tuple[str, ...]] = {
    concept: tuple(p.strip() for p in phrases.split("|")) for concept, phrases in _TABLE.items()
}
